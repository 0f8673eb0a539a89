"""Shared plumbing for Jigsaw: where things live and which database is in use."""
