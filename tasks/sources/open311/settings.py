"""Fixed knobs of the Open311 GeoReport v2 source."""

from datetime import timedelta

# GeoReport v2: "start_date and end_date … may not span more than 90 days".
MAX_WINDOW = timedelta(days=90)
# Servers cap a response (often at 1,000); a full page means the window is split and asked again.
PAGE_CAP = 1000
MIN_WINDOW = timedelta(minutes=1)
