package tray

import (
	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/update"
)

// UpdateOffered reports whether the restart into a new version may be
// offered: it is applied, and no session or connection attempt runs
// (a restart ends the session).
func UpdateOffered(u update.Status, st core.State) bool {
	return u.Phase == update.PhaseReady && !st.Phase.Busy()
}

// WithUpdate adds the restart line once an update is ready and no
// session runs; while a required update waits, Connect is off (the
// broker would refuse this version anyway).
func WithUpdate(m Model, u update.Status, st core.State, tr *i18n.Tr) Model {
	if u.Phase != update.PhaseReady {
		return m
	}
	if u.Required {
		for i := range m.Items {
			if m.Items[i].Action == ActConnect {
				m.Items[i].Disabled = true
			}
		}
	}
	if !UpdateOffered(u, st) {
		return m
	}
	items := make([]Item, 0, len(m.Items)+1)
	items = append(items, m.Items[0], Item{Label: tr.T(i18n.TrayUpdateRestart, u.Target), Action: ActRestart})
	m.Items = append(items, m.Items[1:]...)
	return m
}

// UpdateText words the self-update's state for the home screen: the
// download's progress, the restart offer (or, during a session, that it
// comes after), a refusal, a rollback. "" when there is nothing to say.
func UpdateText(u update.Status, st core.State, tr *i18n.Tr) string {
	switch u.Phase {
	case update.PhaseDownloading:
		return tr.T(i18n.UpdateDownloading, u.Percent())
	case update.PhaseReady:
		switch {
		case st.Phase.Busy():
			return tr.T(i18n.UpdateReadyAfterSession, u.Target)
		case u.Required:
			return tr.T(i18n.UpdateRequired)
		}
		return tr.T(i18n.UpdateReady, u.Target)
	case update.PhaseRefused:
		return UpdateRefusal(u.Reason, tr)
	}
	if u.RolledBack != "" {
		return tr.T(i18n.UpdateRolledBack, u.RolledBack)
	}
	return ""
}

// UpdateRefusal says why an update was refused and what to do.
func UpdateRefusal(r update.Reason, tr *i18n.Tr) string {
	switch r {
	case update.ReasonSignature:
		return tr.T(i18n.UpdateRefusedSignature)
	case update.ReasonRetired:
		return tr.T(i18n.UpdateRefusedRetired)
	case update.ReasonUntrusted:
		return tr.T(i18n.UpdateRefusedUntrusted)
	case update.ReasonKeyChain:
		return tr.T(i18n.UpdateRefusedKeyChain)
	case update.ReasonExpired:
		return tr.T(i18n.UpdateRefusedExpired)
	case update.ReasonOlder:
		return tr.T(i18n.UpdateRefusedOlder)
	case update.ReasonSize:
		return tr.T(i18n.UpdateRefusedSize)
	case update.ReasonTruncated:
		return tr.T(i18n.UpdateRefusedTruncated)
	case update.ReasonChecksum:
		return tr.T(i18n.UpdateRefusedChecksum)
	case update.ReasonManifest:
		return tr.T(i18n.UpdateRefusedManifest)
	case update.ReasonNoKeys:
		return tr.T(i18n.UpdateRefusedNoKeys)
	}
	return tr.T(i18n.UpdateRefusedSignature) // an unknown reason is treated as the gravest
}

// UpdateNotice is the desktop notification when a new version is ready.
func UpdateNotice(u update.Status, st core.State, tr *i18n.Tr) *fyne.Notification {
	return fyne.NewNotification(tr.T(i18n.NotifyUpdateTitle), UpdateText(u, st, tr))
}
