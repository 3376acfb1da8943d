"""Tests of training: the shared loop, supernet training, fine-tuning settings."""
