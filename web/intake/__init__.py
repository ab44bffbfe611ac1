"""Command-centre intake: complaints by phone, walk-in or SP4N-LAPOR!, the 112 call log, shift hand-over."""
