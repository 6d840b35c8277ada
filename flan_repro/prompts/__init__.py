"""Templates and the three prompt formats (instruction, no_template, dataset_name)."""
