"""The review UI and API (Flask app factory and blueprints) — built by the review-workspace issue.

Until then this package only reserves the name in the layout; ``orderwatch demo`` prints where
the scan's flags went (database and CSV).
"""
