import os
import time

# Times on screen are local times: pin the zone so snapshots are the same everywhere.
os.environ["TZ"] = "UTC"
time.tzset()
