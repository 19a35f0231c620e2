-- The same request every time (headers come from wrk's -H): scenarios a to e and h.
local common = require("common")
setup = common.setup
done = common.done
