"""The catalogue says what the paper says: 12 clusters, 62 datasets, FLAN's held-out rules."""
import shutil

import pytest

from flan_repro.catalogue import FORMATS, UnknownNameError, load, spec, tables, tasks_dir

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
    # Sec. 2.2: reading comprehension and commonsense do not exclude each other
    assert set(cat.excluded_clusters("reading_comprehension")) == {"reading_comprehension", rcc}
    assert set(cat.excluded_clusters("commonsense")) == {"commonsense", rcc}


def test_tfds_versions_are_flans_pins():
    """A sample of the `tfds_name='NAME:VERSION'` pins of FLAN's flan/tasks.py (the 2021
    paper's code; flan/v2 re-pins e.g. the GEM sets at 1.1.0)."""
    pins = {"hellaswag": "0.0.1", "glue_mrpc": "1.0.0", "mnli_matched": "1.0.0",
            "paws_wiki": "1.0.0", "common_gen": "1.0.0", "dart": "1.0.0",
            "wiki_lingua_english_en": "1.1.0", "rte": "1.0.2", "openbookqa": "0.1.0",
            "winogrande": "1.1.0", "yelp_polarity_reviews": "0.2.0", "drop": "2.0.0"}
    cat = load()
    assert {d: cat.datasets[d].tfds_version for d in pins} == pins


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


def test_recipe_defaults_and_figure_clusters_are_read_from_yaml():
    cat = load()
    assert cat.recipe == {"max_train_examples": 30000, "mixing_rate_cap": 3000,
                          "max_shots": 16, "few_shot_input_budget": 960}
    assert cat.dataset("anli_r2").splits == {   # from `defaults:`
        "train": "train[:30000]", "validation": "validation[:200]", "test": "test"}
    assert cat.role_of_instructions == ("nli", "reading_comprehension", "closed_book_qa",
                                        "translation")
    assert cat.few_shot_exemplars == ("nli", "reading_comprehension", "closed_book_qa",
                                      "commonsense", "coreference", "translation",
                                      "struct_to_text")
    assert cat.dataset("quac").primary == "f1" and cat.dataset("trivia_qa").primary == "em"


def _edited_tasks(tmp_path, monkeypatch, old: str, new: str, name: str = "catalogue.yaml"):
    """A copy of tasks/ with one edit, loaded in place of the real one."""
    src = tasks_dir()
    shutil.copytree(src, tmp_path / "tasks")
    path = tmp_path / "tasks" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    monkeypatch.setenv("FLAN_REPRO_TASKS_DIR", str(tmp_path / "tasks"))
    spec.load.cache_clear()
    tables.metric_rules.cache_clear()


@pytest.mark.parametrize("name,old,new,match", [
    ("catalogue.yaml", "    metrics: [trivia_qa]\n", "    metrics: [trivia_qq]\n",
     "unknown metric 'trivia_qq'.*Did you mean 'trivia_qa'"),
    ("catalogue.yaml", "    converter: arc\n", "    converter: acr\n",
     "unknown converter 'acr'.*Did you mean 'arc'"),
    ("catalogue.yaml", "    tfds_name: quac\n", "    tfds_name: quac\n    option: [a]\n",
     "unknown dataset field 'option'.*Did you mean 'options'"),
    ("clusters.yaml", "  max_shots: 16", "  max_shot: 16",
     "unknown recipe field 'max_shot'.*Did you mean 'max_shots'"),
    ("clusters.yaml", "  held_out: [nli, reading_comprehension,",
     "  held_out: [nli, reading_comprehensoin,", "Did you mean 'reading_comprehension'"),
    ("metrics.yaml", "  squad: f1\n", "", "unknown metric 'squad'.*dataset 'drop'"),
])
def test_catalogue_errors_name_the_entry_and_the_valid_choices(tmp_path, monkeypatch, name, old,
                                                                new, match):
    _edited_tasks(tmp_path, monkeypatch, old, new, name)
    try:
        with pytest.raises(ValueError, match=match):
            load()
    finally:
        monkeypatch.undo()
        spec.load.cache_clear()
        tables.metric_rules.cache_clear()


def test_metric_rules_pick_the_first_listed_key():
    rules = tables.metric_rules()
    assert rules.primary(["f1_3class_mean", "accuracy"]) == "accuracy"
    assert rules.primary(["multirc_em", "multirc_f1a"]) == "f1a"
    assert rules.primary(["trivia_qa"], declared="f1") == "f1"
    with pytest.raises(ValueError, match="no primary key covers"):
        rules.primary(["pearson"])


def test_report_titles_are_read_from_yaml():
    titles = tables.row_titles()
    assert titles["base"] == "Untuned base model, zero-shot"
    assert titles[("instruction", "instruction")] == "FLAN (instructions)"
    assert tables.calibration_titles()["dataset_name/dataset_name"] == \
        "Dataset name (own prompts)"
