package approvals_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"guestpass/internal/botframework"
)

// Benchmark shape: 1,000 pending requests across 50 approvers (20 each, submitted approver by
// approver, the bursty order), no stored conversations (every approver's 1:1 chat is created),
// the fake connector enforcing Teams' per-conversation limits with 429s.
const (
	benchApprovers = 50
	benchPerEach   = 20
	// teamsGlobalRPS is Teams' documented limit per app per tenant (teams-bot-protocol.md §4.4).
	// The fake connector does not enforce it; the pacer is configured to it and the floor
	// counts it.
	teamsGlobalRPS = 50
)

// BenchmarkDeliver1000Cards measures the wall-clock time from the start of the worker (Run: the
// detection pass, with the sender woken as soon as the first cards are due) to the last card
// received by the connector, in real time, against the rate-limit floor. Run with -benchtime=1x:
// one iteration takes about the floor (~21 s).
func BenchmarkDeliver1000Cards(b *testing.B) {
	const cards = benchApprovers * benchPerEach
	for range b.N {
		b.StopTimer()
		pacer := botframework.NewPacer(botframework.PacerConfig{GlobalRPS: teamsGlobalRPS})
		e := newEnv(b, envOptions{pacer: pacer, pageSize: 100})
		d := e.deps
		d.PollInterval = time.Hour // one detection pass
		a := e.newApprovals(d)
		for i := range benchApprovers {
			oid := invite(b, e, fmt.Sprintf("approver%02d@fabrikam.com", i))
			pkg := e.scenario(fmt.Sprintf("Bench %02d", i), []string{oid})
			for j := range benchPerEach {
				e.guestRequest(pkg, fmt.Sprintf("guest%02d-%02d@contoso.com", i, j))
			}
		}
		e.graphOps.Reset()
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()

		start := time.Now()
		done := make(chan struct{})
		go func() { defer close(done); a.Run(ctx) }()
		var first time.Duration
		var profile []int
		for sent := 0; sent < cards; time.Sleep(10 * time.Millisecond) {
			sent = 0
			for _, c := range e.conn.Calls() {
				if c.Op == botframework.OpSend {
					sent++
				}
			}
			if sent > 0 && first == 0 {
				first = time.Since(start)
			}
			if sec := int(time.Since(start) / time.Second); sec >= len(profile) {
				profile = append(profile, sent)
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("only %d of %d cards delivered after 5 minutes", sent, cards)
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		cancel()
		<-done

		creates := 0
		for _, c := range e.conn.Calls() {
			if c.Op == botframework.OpCreateConversation {
				creates++
			}
		}
		floor := rateLimitFloor(cards+creates, benchPerEach)
		b.ReportMetric(elapsed.Seconds(), "s/delivery")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(elapsed.Seconds()/floor.Seconds(), "x-floor")
		b.ReportMetric(float64(e.conn.Throttled()), "429s")
		b.ReportMetric(float64(e.graphOps.Total()), "graph-calls")
		b.ReportMetric(first.Seconds(), "first-card-s")
		b.Logf("%d cards to %d approvers: %s (first card after %s; floor %s; %.2fx), %d creates, %d 429s, %d Graph calls",
			cards, benchApprovers, elapsed.Round(time.Millisecond), first.Round(time.Millisecond), floor.Round(time.Millisecond),
			elapsed.Seconds()/floor.Seconds(), creates, e.conn.Throttled(), e.graphOps.Total())
		b.Logf("sent by second: %v", profile)
		if e.conn.Throttled() != 0 {
			b.Errorf("%d requests throttled, want 0", e.conn.Throttled())
		}
	}
}

// rateLimitFloor is the shortest time Teams' documented limits allow for ops calls of which
// perConversation go to each conversation: the larger of the global bound (the first call at 0,
// then teamsGlobalRPS per second, no burst assumed) and the per-conversation sliding windows
// (botframework.TeamsSendWindows, exact lengths, computed by placing each send as early as every
// window permits).
func rateLimitFloor(ops, perConversation int) time.Duration {
	global := time.Duration(float64(ops-1) / teamsGlobalRPS * float64(time.Second))
	times := make([]time.Duration, 0, perConversation)
	for k := range perConversation {
		t := time.Duration(0)
		for _, w := range botframework.TeamsSendWindows {
			if k >= w.Limit {
				t = max(t, times[k-w.Limit]+w.Length)
			}
		}
		times = append(times, t)
	}
	return max(global, times[len(times)-1])
}

// invite creates a guest user through Graph's invitation API (app-only) and returns its id.
func invite(tb testing.TB, e *env, email string) string {
	tb.Helper()
	body := models.NewInvitation()
	body.SetInvitedUserEmailAddress(&email)
	redirect := "https://myapplications.microsoft.com"
	body.SetInviteRedirectUrl(&redirect)
	inv, err := e.graph.Invitations().Post(context.Background(), body, nil)
	if err != nil {
		tb.Fatalf("invite %s: %v", email, err)
	}
	return *inv.GetInvitedUser().GetId()
}
