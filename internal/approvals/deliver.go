package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"guestpass/internal/botframework"
	"guestpass/internal/proactive"
	"guestpass/internal/store"
)

// errUnreachable marks a recipient the bot cannot message (no conversation can be created, the
// bot is blocked or uninstalled).
var errUnreachable = proactive.ErrUnreachable

// Deliver claims due outbox rows and sends them until none are left; it returns how many rows it
// handled. Claims are atomic, so every replica may run it.
//
// Rows are sent in lanes, one lane per recipient: a sender takes all claimed rows of one
// recipient and sends them in order, and Deps.Senders lanes run at once. Teams limits each
// conversation to about 4 sends a second sustained (8 per 2 s), far below the app's global
// budget, so throughput comes from many conversations in flight; a sender that picked single rows
// would mostly sit behind one conversation's window while the global budget idles. A new batch is
// claimed as soon as every lane of the previous one has a sender, so a claimed row waits at most
// about one lane's sending time before its own, well inside the claim lease.
func (a *Approvals) Deliver(ctx context.Context) (int, error) {
	lanes := make(chan []store.OutboxItem)
	var handled atomic.Int64
	var wg sync.WaitGroup
	for range a.d.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lane := range lanes {
				for i, it := range lane {
					if ctx.Err() != nil {
						a.release(ctx, lane[i:])
						break
					}
					a.deliverOne(ctx, it)
					handled.Add(1)
				}
			}
		}()
	}
	err := a.feed(ctx, lanes)
	close(lanes)
	wg.Wait()
	return int(handled.Load()), err
}

// feed claims batches and hands them out lane by lane until the outbox has nothing due.
func (a *Approvals) feed(ctx context.Context, lanes chan<- []store.OutboxItem) error {
	for {
		items, err := a.d.Store.ClaimOutbox(ctx, a.d.Holder, claimBatch, claimLease)
		if err != nil {
			return errorf("claim outbox: %w", err)
		}
		var mine []store.OutboxItem
		for _, it := range items {
			switch it.Kind {
			case KindCard, KindUpdate, KindNote:
				mine = append(mine, it)
			default:
				// Another feature's row: hand it back at once.
				if err := a.d.Store.MarkOutboxFailed(ctx, it.ID, "not an approvals row", a.now()); err != nil {
					return errorf("release outbox row %d: %w", it.ID, err)
				}
			}
		}
		if len(mine) == 0 {
			return nil
		}
		byRecipient := byRecipient(mine)
		for i, lane := range byRecipient {
			select {
			case lanes <- lane:
			case <-ctx.Done():
				for _, rest := range byRecipient[i:] {
					a.release(ctx, rest)
				}
				return ctx.Err()
			}
		}
	}
}

// release hands rows that were claimed but never started back, so another replica (or the next
// run) sends them instead of writing them off as unknown when the claim expires.
func (a *Approvals) release(ctx context.Context, rows []store.OutboxItem) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, it := range rows {
		a.mark(rctx, a.d.Store.MarkOutboxFailed(rctx, it.ID, "sender stopped before sending", a.now()))
	}
}

// byRecipient groups rows into one lane per recipient, keeping the claim order within a lane
// (a card before its update) and across lanes (the oldest first).
func byRecipient(items []store.OutboxItem) [][]store.OutboxItem {
	index := map[string]int{}
	var out [][]store.OutboxItem
	for _, it := range items {
		i, ok := index[it.RecipientOID]
		if !ok {
			i = len(out)
			index[it.RecipientOID] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], it)
	}
	return out
}

// deliverOne sends one row and records the outcome. Errors are recorded on the row, not returned.
func (a *Approvals) deliverOne(ctx context.Context, it store.OutboxItem) {
	log := a.log.With("outbox_key", it.Key, "user_oid", it.RecipientOID)
	var err error
	switch it.Kind {
	case KindCard:
		err = a.sendCard(ctx, it)
	case KindUpdate:
		err = a.sendUpdate(ctx, it)
	case KindNote:
		err = a.sendNote(ctx, it)
	}
	if err == nil {
		return
	}
	// Record with a context that survives shutdown: the send happened (or not) regardless.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case errors.Is(err, botframework.ErrOutcomeUnknown):
		log.Warn("send outcome unknown; not resending", "error", err)
		a.mark(mctx, a.d.Store.MarkOutboxUnknown(mctx, it.ID, err.Error()))
	case errors.Is(err, errUnreachable):
		log.Warn("recipient unreachable", "error", err)
		a.mark(mctx, a.d.Store.MarkOutboxFailed(mctx, it.ID, err.Error(), time.Time{}))
		a.unreachable(mctx, it, err)
	case errors.Is(err, errSkip):
		a.mark(mctx, a.d.Store.MarkOutboxFailed(mctx, it.ID, err.Error(), time.Time{}))
	default:
		if it.Attempts >= maxAttempts {
			log.Error("send failed; giving up", "attempts", it.Attempts, "error", err)
			a.mark(mctx, a.d.Store.MarkOutboxFailed(mctx, it.ID, err.Error(), time.Time{}))
			if it.Kind == KindCard {
				a.unreachable(mctx, it, err)
			}
			return
		}
		retry := time.Duration(1<<min(it.Attempts, 6)) * 5 * time.Second
		var ce *botframework.ConnectorError
		if errors.As(err, &ce) && ce.RetryAfter > retry {
			retry = ce.RetryAfter
		}
		log.Warn("send failed; will retry", "attempts", it.Attempts, "retry_in", retry, "error", err)
		a.mark(mctx, a.d.Store.MarkOutboxFailed(mctx, it.ID, err.Error(), a.now().Add(retry)))
	}
}

// errSkip marks a row that must not be sent any more (its request closed before it went out).
var errSkip = errors.New("no longer needed")

func (a *Approvals) mark(_ context.Context, err error) {
	if err != nil {
		a.log.Error("recording an outbox outcome failed", "error", err)
	}
}

// conversation returns the recipient's personal conversation (proactive.Conversations: the
// stored reference, else created, installing the app first where configured).
func (a *Approvals) conversation(ctx context.Context, tenantID, oid string) (store.ConversationRef, error) {
	return a.convs.Personal(ctx, tenantID, oid)
}

// classifySend turns a connector failure into errUnreachable where retrying cannot help.
func classifySend(err error) error {
	var ce *botframework.ConnectorError
	if errors.As(err, &ce) && (ce.Status == http.StatusForbidden || ce.Status == http.StatusNotFound) {
		return fmt.Errorf("%w: %v", errUnreachable, err)
	}
	return err
}

func (a *Approvals) sendCard(ctx context.Context, it store.OutboxItem) error {
	var p cardPayload
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		return fmt.Errorf("%w: bad payload: %v", errSkip, err)
	}
	rec, err := a.loadRecord(ctx, p.RequestID)
	if err != nil {
		return err
	}
	if rec == nil || rec.Final {
		return fmt.Errorf("%w: request %s is closed", errSkip, p.RequestID)
	}
	ref, err := a.conversation(ctx, it.TenantID, p.ApproverOID)
	if err != nil {
		return err
	}
	card, err := a.renderFor(ctx, rec, p.ApproverOID, p.Stage)
	if err != nil {
		return err
	}
	id, err := a.d.Connector.Send(ctx, ref.ServiceURL, ref.ConversationID, botframework.NewCard(card))
	if err != nil {
		return classifySend(err)
	}
	if err := a.d.Store.MarkOutboxSent(ctx, it.ID, id); err != nil {
		// The card is out; failing to record it must not resend it. Log loudly instead.
		a.log.Error("card sent but not recorded", "request_id", p.RequestID, "activity_id", id, "error", err)
	}
	return nil
}

func (a *Approvals) sendUpdate(ctx context.Context, it store.OutboxItem) error {
	var p updatePayload
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		return fmt.Errorf("%w: bad payload: %v", errSkip, err)
	}
	row, err := a.d.Store.OutboxByKey(ctx, p.CardKey)
	if err != nil {
		return fmt.Errorf("%w: card row %s: %v", errSkip, p.CardKey, err)
	}
	var cp cardPayload
	if row.ActivityID == "" || json.Unmarshal(row.Payload, &cp) != nil {
		return fmt.Errorf("%w: card %s was never sent", errSkip, p.CardKey)
	}
	rec, err := a.loadRecord(ctx, p.RequestID)
	if err != nil || rec == nil {
		return fmt.Errorf("%w: request %s: %v", errSkip, p.RequestID, err)
	}
	ref, err := a.conversation(ctx, row.TenantID, cp.ApproverOID)
	if err != nil {
		return err
	}
	card, err := a.renderFor(ctx, rec, cp.ApproverOID, cp.Stage)
	if err != nil {
		return err
	}
	if err := a.d.Connector.Update(ctx, ref.ServiceURL, ref.ConversationID, row.ActivityID, botframework.NewCard(card)); err != nil {
		var ce *botframework.ConnectorError
		if errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != http.StatusTooManyRequests {
			return fmt.Errorf("%w: update: %v", errSkip, err)
		}
		return err
	}
	return a.d.Store.MarkOutboxSent(ctx, it.ID, row.ActivityID)
}

func (a *Approvals) sendNote(ctx context.Context, it store.OutboxItem) error {
	var p notePayload
	if err := json.Unmarshal(it.Payload, &p); err != nil || p.Text == "" {
		return fmt.Errorf("%w: bad payload", errSkip)
	}
	ref, err := a.conversation(ctx, it.TenantID, it.RecipientOID)
	if err != nil {
		return err
	}
	out := botframework.NewText(p.Text)
	out.TextFormat = "plain"
	id, err := a.d.Connector.Send(ctx, ref.ServiceURL, ref.ConversationID, out)
	if err != nil {
		return classifySend(err)
	}
	if err := a.d.Store.MarkOutboxSent(ctx, it.ID, id); err != nil {
		a.log.Error("note sent but not recorded", "request_id", p.RequestID, "activity_id", id, "error", err)
	}
	return nil
}

// unreachable records that a card could not be delivered: audit (admins read it there) and a
// note to the scenario's sponsor. Notes that fail are only audited, never re-reported.
func (a *Approvals) unreachable(ctx context.Context, it store.OutboxItem, cause error) {
	var p cardPayload
	_ = json.Unmarshal(it.Payload, &p)
	a.audit(ctx, store.AuditEntry{TenantID: it.TenantID, Action: "approval.unreachable", Target: p.RequestID,
		Outcome: "failed", Detail: fmt.Sprintf("%s to %s: %v", it.Kind, it.RecipientOID, cause)})
	if it.Kind != KindCard {
		return
	}
	rec, err := a.loadRecord(ctx, p.RequestID)
	if err != nil || rec == nil || rec.SponsorOID == "" || rec.SponsorOID == p.ApproverOID {
		return
	}
	who := p.ApproverName
	if who == "" {
		who = "an approver (" + p.ApproverOID + ")"
	}
	text := fmt.Sprintf("I couldn't reach %s in Teams about %s's request for %s (stage %d); they may not have the app. They can still decide in My Access.",
		who, personName(rec.Request.Requestor), packageName(rec), p.Stage)
	if err := a.note(ctx, p.RequestID, fmt.Sprintf("unreachable:%s:s%d", p.ApproverOID, p.Stage), rec.SponsorOID, text); err != nil {
		a.log.Error("telling the sponsor about an unreachable approver failed", "request_id", p.RequestID, "error", err)
	}
	a.wake()
}
