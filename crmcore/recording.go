package crmcore

import "time"

// RecordingAccess is one time a person fetched a call's recording: who,
// when, what part (the HTTP Range asked, "" for the whole file) and from
// where. Supervisors review the list; it is never edited.
type RecordingAccess struct {
	ID            string    `json:"id"`
	InteractionID string    `json:"interaction_id"`
	AgentID       string    `json:"agent_id"`
	At            time.Time `json:"at"`
	Range         string    `json:"range,omitempty"`
	Source        string    `json:"source,omitempty"`
}

// MayHearRecording reports whether p may listen to in's recording: a
// supervisor (anyone who reads every interaction), or an agent who was on
// the call.
func MayHearRecording(p Principal, in Interaction) bool {
	if p.Role.Can(PermReadAllInteractions) {
		return true
	}
	if p.AgentID == "" {
		return false
	}
	if in.AgentID == p.AgentID {
		return true
	}
	for _, x := range in.Parties {
		if x.AgentID == p.AgentID {
			return true
		}
	}
	return false
}
