"""Tests of the results store: the search's tables, the finetune table, the shared file."""
