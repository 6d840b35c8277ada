"""The ablation of FLAN's Sec. 4.3: instructions vs no template vs dataset name."""
