package slots_test

import (
	"context"

	"github.com/zaitaku/zaitaku/broker/audit"
)

type nopAudit struct{}

func (nopAudit) Record(context.Context, audit.Event) error { return nil }
