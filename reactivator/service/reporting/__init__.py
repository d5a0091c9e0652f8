"""Reports: the dormant segments (segments.py), and what the campaign earned and caused (campaign.py).

Import from the module you need: the segments stay light, the campaign report
brings the statistics.
"""
