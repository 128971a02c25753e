package commands

import (
	"strings"
	"unicode/utf8"
)

// maxSuggestInput bounds the words compared for suggestions: nobody mistypes a 64-character
// command, and the distance is quadratic.
const maxSuggestInput = 64

// suggest returns the candidate closest to typed, or "" when none is close enough.
func suggest(typed string, candidates []string) string {
	typedEach := make([]string, len(candidates))
	for i := range typedEach {
		typedEach[i] = typed
	}
	return suggestEach(typedEach, candidates)
}

// suggestEach compares typed[i] with candidates[i] and returns the closest candidate: the smallest
// edit distance within a length-dependent threshold, else the first candidate that typed[i] is a
// prefix of (at least three characters), else "". Ties go to the earlier candidate.
func suggestEach(typed, candidates []string) string {
	best, bestDist := "", -1
	for i, c := range candidates {
		t := strings.ToLower(typed[i])
		if t == "" || utf8.RuneCountInString(t) > maxSuggestInput {
			continue
		}
		d := distance(t, c)
		if d <= threshold(c) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return best
	}
	for i, c := range candidates {
		t := strings.ToLower(typed[i])
		if utf8.RuneCountInString(t) >= 3 && strings.HasPrefix(c, t) {
			return c
		}
	}
	return ""
}

// Distance is the edit distance guestpass uses for "did you mean" suggestions anywhere (commands,
// organization names): insertions, deletions, substitutions and adjacent transpositions each cost
// one. Inputs are cut to 64 runes, since nobody mistypes a longer word and the cost is quadratic.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	return distance(string(ra[:min(len(ra), maxSuggestInput)]), string(rb[:min(len(rb), maxSuggestInput)]))
}

// threshold is the largest edit distance still worth suggesting for a candidate: short words
// tolerate one typo, longer ones two or three.
func threshold(candidate string) int {
	switch n := utf8.RuneCountInString(candidate); {
	case n <= 2:
		return 0
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	default:
		return 3
	}
}

// distance is the optimal-string-alignment edit distance between a and b: insertions, deletions,
// substitutions and transpositions of adjacent characters ("hlep" → "help") each cost one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rolling rows: two back for transpositions.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
