"""Prompt tuning (the paper's Sec. 4.5, Fig. 10): soft prompts on a frozen model.

  train.py    the recipe (PromptTuningConfig, gin/prompt_tuning/*.gin), the training
              examples, the prompt's init and the resumable loop (train_prompt)
  run.py      one dataset end to end: load, tune, evaluate the (model, prompt) pair with
              the evaluator every other row uses, write DIR/results.json (prompt_tune)
  command.py  `flan-repro prompt-tune`

Nothing is imported here; import the submodule you need.
"""
