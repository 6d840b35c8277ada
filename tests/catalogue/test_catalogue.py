"""The catalogue says what the paper says: 12 clusters, 62 datasets, FLAN's held-out rules."""
import pytest

from flan_repro.catalogue import FORMATS, UnknownNameError, load

PAPER_CLUSTER_SIZES = {   # Wei et al. 2022, Fig. 3
    "nli": 7, "commonsense": 4, "sentiment": 4, "paraphrase": 4, "closed_book_qa": 3,
    "struct_to_text": 4, "translation": 8, "reading_comprehension": 5,
    "reading_comprehension_with_commonsense": 2, "coreference": 3, "misc": 7,
    "summarization": 11,
}


def test_twelve_clusters_sixty_two_paper_datasets():
    cat = load()
    assert len(cat.clusters) == 12
    assert len(cat.paper_datasets) == 62
    for c, n in PAPER_CLUSTER_SIZES.items():
        assert len({cat.datasets[d].paper_name for d in cat.cluster(c).datasets}) == n, c


def test_split_entries_share_a_paper_name():
    papers = load().paper_datasets
    assert sorted(papers["ANLI"]) == ["anli_r1", "anli_r2", "anli_r3"]
    assert sorted(papers["MNLI"]) == ["mnli_matched", "mnli_mismatched"]
    assert sorted(papers["SQuAD"]) == ["squad_v1", "squad_v2"]
    assert sorted(papers["ARC"]) == ["arc_challenge", "arc_easy"]


@pytest.mark.parametrize("cluster", sorted(PAPER_CLUSTER_SIZES))
def test_held_out_cluster_and_partners_never_in_training(cluster):
    cat = load()
    excluded = set(cat.excluded_clusters(cluster))
    train = cat.train_datasets(cluster)
    assert train
    assert not {cat.datasets[d].cluster for d in train} & excluded
    assert set(cat.eval_datasets(cluster)) <= set(cat.cluster(cluster).datasets)


def test_paper_exclusion_rules():
    cat = load()
    assert set(cat.excluded_clusters("nli")) == {"nli", "paraphrase"}
    assert set(cat.excluded_clusters("paraphrase")) == {"nli", "paraphrase"}
    rcc = "reading_comprehension_with_commonsense"
    assert rcc in cat.excluded_clusters("reading_comprehension")
    assert rcc in cat.excluded_clusters("commonsense")
    assert {"reading_comprehension", "commonsense"} <= set(cat.excluded_clusters(rcc))
    assert set(cat.excluded_clusters("sentiment")) == {"sentiment"}


def test_reported_datasets_match_the_paper():
    cat = load()
    assert cat.eval_datasets("nli") == ["anli_r1", "anli_r2", "anli_r3", "cb", "rte"]
    assert set(cat.eval_datasets("reading_comprehension")) == {"bool_q", "multirc", "openbookqa"}
    assert set(cat.eval_datasets("coreference")) == {
        "definite_pronoun_resolution", "winogrande", "wsc273"}
    assert set(cat.eval_datasets("sentiment")) == set(cat.cluster("sentiment").datasets)


def test_splits_follow_flan_recipe():
    cat = load()
    for spec in cat.datasets.values():
        assert "test" in spec.splits
        if "validation" in spec.splits:
            assert spec.splits["validation"] != spec.splits["test"], spec.name
    assert cat.dataset("rte").splits == {
        "train": "train[:-200]", "validation": "train[-200:]", "test": "validation"}
    assert cat.recipe["max_train_examples"] == 30000 and cat.recipe["mixing_rate_cap"] == 3000


def test_classification_options_in_tfds_label_order():
    cat = load()
    assert cat.dataset("rte").fixed_options == ("yes", "no")           # entailment first
    assert cat.dataset("cb").fixed_options[1] == "No"                  # contradiction = 1
    assert cat.dataset("trec").fixed_options[:3] == ("description", "entity", "abbreviation")
    assert cat.dataset("copa").options == "example"
    assert not cat.dataset("xsum").classification


def test_unknown_names_list_the_valid_ones():
    cat = load()
    with pytest.raises(UnknownNameError, match="unknown cluster 'bogus'.*nli"):
        cat.cluster("bogus")
    with pytest.raises(UnknownNameError, match="Did you mean 'rte'"):
        cat.dataset("rtee")
    with pytest.raises(UnknownNameError, match="instruction"):
        cat.check_format("instructions")
    assert FORMATS == ("instruction", "no_template", "dataset_name")
