"""Complaint photos: the cleaning pipeline, where the results are stored, their rows, and the one
answer that serves them."""
