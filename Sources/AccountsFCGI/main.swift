import Shared; _probe()
