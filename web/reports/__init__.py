"""Reports: the leaders' daily report, the operators' shift report, each OPD's page, and the
public transparency page. Figures are plain functions over SQL aggregates (figures.py)."""
