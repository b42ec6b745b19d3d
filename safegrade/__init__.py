"""safegrade: the assessment-to-revocation lifecycle of graded work-safety enterprises."""

__version__ = "0.1.0"
