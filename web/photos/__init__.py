"""Complaint photos: the cleaning pipeline and where the results are stored."""
