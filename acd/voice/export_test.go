package voice

import "switchboard/acd"

// CountResolutions makes x count how many times it resolves a number.
func CountResolutions(x *Journey, n *int) {
	resolve := x.resolve
	x.resolve = func(ani string) acd.Geography {
		*n++
		return resolve(ani)
	}
}
