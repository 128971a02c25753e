package approvals

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"guestpass/internal/cards"
	"guestpass/internal/entitlement"
	"guestpass/internal/store"
)

// Store keys. Request ids come from Graph (GUIDs); validRequestID keeps anything that could
// break the key structure out.
const (
	kvRequestPrefix  = "approval/request/"
	kvDecisionPrefix = "approval/decision/"
	kvOpen           = "approval/open"
	// KindCard rows send an approval card; KindUpdate rows re-render a sent card in place;
	// KindNote rows send a text message (to sponsors and admins).
	KindCard   = "approval-card"
	KindUpdate = "approval-update"
	KindNote   = "approval-note"
)

// record is the worker's snapshot of a request: what cards are rendered from.
type record struct {
	Request    entitlement.Request `json:"request"`
	SponsorOID string              `json:"sponsorOid,omitempty"`
	Scenario   string              `json:"scenario,omitempty"`
	FirstSeen  time.Time           `json:"firstSeen"`
	// Final is set once the request left pendingApproval for good.
	Final   bool                  `json:"final,omitempty"`
	Outcome cards.DecisionOutcome `json:"outcome,omitempty"`
	EndedAt time.Time             `json:"endedAt,omitempty"`
}

// decision is a stage decision the bot recorded in Graph (written by the click).
type decision struct {
	Stage         int       `json:"stage"`
	Approve       bool      `json:"approve"`
	ByOID         string    `json:"byOid"`
	ByName        string    `json:"byName,omitempty"`
	At            time.Time `json:"at"`
	Justification string    `json:"justification,omitempty"`
	StageCount    int       `json:"stageCount,omitempty"`
}

// validRequestID accepts Graph ids (GUIDs and similar) and nothing that could change a key.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (a *Approvals) getJSON(ctx context.Context, key string, v any) (bool, error) {
	b, err := a.d.Store.GetKV(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

func (a *Approvals) putJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.d.Store.PutKV(ctx, key, b, 0)
}

func (a *Approvals) loadRecord(ctx context.Context, requestID string) (*record, error) {
	var r record
	ok, err := a.getJSON(ctx, kvRequestPrefix+requestID, &r)
	if err != nil || !ok {
		return nil, err
	}
	return &r, nil
}

func (a *Approvals) saveRecord(ctx context.Context, r *record) error {
	return a.putJSON(ctx, kvRequestPrefix+r.Request.ID, r)
}

func decisionKey(requestID string, stage int) string {
	return kvDecisionPrefix + requestID + "/s" + strconv.Itoa(stage)
}

// decisions returns the decisions the bot recorded for a request, by stage.
func (a *Approvals) decisions(ctx context.Context, requestID string, stages int) (map[int]decision, error) {
	out := map[int]decision{}
	for s := 1; s <= max(stages, 1); s++ {
		var d decision
		ok, err := a.getJSON(ctx, decisionKey(requestID, s), &d)
		if err != nil {
			return nil, err
		}
		if ok {
			out[s] = d
		}
	}
	return out, nil
}

func (a *Approvals) loadOpen(ctx context.Context) ([]string, error) {
	var ids []string
	if _, err := a.getJSON(ctx, kvOpen, &ids); err != nil {
		return nil, err
	}
	return ids, nil
}

func (a *Approvals) saveOpen(ctx context.Context, ids []string) error {
	sort.Strings(ids)
	return a.putJSON(ctx, kvOpen, ids)
}

// cardKey is the idempotency key of an approval card: one per (request, approver, stage), and one
// reminder per (request, approver, stage).
func cardKey(requestID, approverOID string, stage int, reminder bool) string {
	k := "approval:" + requestID + ":" + strings.ToLower(approverOID) + ":s" + strconv.Itoa(stage)
	if reminder {
		k += ":reminder"
	}
	return k
}

func cardPrefix(requestID string) string { return "approval:" + requestID + ":" }

func noteKey(requestID, what, recipientOID string) string {
	return "approval-note:" + requestID + ":" + what + ":" + strings.ToLower(recipientOID)
}

// cardPayload is the payload of a KindCard row.
type cardPayload struct {
	RequestID    string `json:"requestId"`
	Stage        int    `json:"stage"`
	ApproverOID  string `json:"approverOid"`
	ApproverName string `json:"approverName,omitempty"`
	Reminder     bool   `json:"reminder,omitempty"`
}

// updatePayload is the payload of a KindUpdate row: re-render the card of row CardKey.
type updatePayload struct {
	RequestID string `json:"requestId"`
	CardKey   string `json:"cardKey"`
}

// notePayload is the payload of a KindNote row.
type notePayload struct {
	RequestID string `json:"requestId"`
	Text      string `json:"text"`
}

// cardRows lists every approval card row of a request (all stages, reminders included).
func (a *Approvals) cardRows(ctx context.Context, requestID string) ([]store.OutboxItem, error) {
	rows, err := a.d.Store.ListOutbox(ctx, store.OutboxQuery{Kind: KindCard, KeyPrefix: cardPrefix(requestID), Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("list cards of %s: %w", requestID, err)
	}
	return rows, nil
}

// currentStage is the highest stage cards were enqueued for, and when that stage's first card
// was enqueued.
func currentStage(rows []store.OutboxItem) (int, time.Time) {
	stage, started := 0, time.Time{}
	for _, r := range rows {
		var p cardPayload
		if json.Unmarshal(r.Payload, &p) != nil || p.Reminder {
			continue
		}
		switch {
		case p.Stage > stage:
			stage, started = p.Stage, r.CreatedAt
		case p.Stage == stage && r.CreatedAt.Before(started):
			started = r.CreatedAt
		}
	}
	return stage, started
}
