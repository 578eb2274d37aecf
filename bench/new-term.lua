-- wrk script: every request searches for a different four-digit piece of a phone number, so the
-- server (nearly) never has the list at hand and computes each one: the cost of a first search.
dofile("bench/report.lua")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed(os.time() * 100 + seed)
end

function request()
  return wrk.format(nil, string.format("/staff/contacts?q=%04d", math.random(0, 9999)))
end
