package daemon

import (
	"context"
	"fmt"
	"io"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/services"
)

// Demo accounts share one password and one one-time-code secret so that a
// newcomer can sign in: `broker admin users otp-code yamada` prints the
// current code (refused for non-demo accounts).
const (
	DemoPassword   = "Hinode-Kaze-42"
	DemoTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
)

// DemoUser is one seeded account.
type DemoUser struct {
	ID, Name, Department string
	Roles                []api.Role
}

// DemoUsers are the seeded staff.
var DemoUsers = []DemoUser{
	{"admin", "情報 太郎", "情報政策課", []api.Role{api.RoleAdmin, api.RoleStaff}},
	{"yamada", "山田 花子", "総務課", []api.Role{api.RoleStaff}},
	{"sato", "佐藤 一郎", "税務課", []api.Role{api.RoleStaff}},
	{"suzuki", "鈴木 美咲", "福祉課", []api.Role{api.RoleStaff}},
	{"tanaka", "田中 誠", "総務課", []api.Role{api.RoleStaff, api.RoleSupervisor}},
	// Her PC is in the My Number segment: from home she is refused, as
	// from anywhere but the demo satellite office (127.0.0.2).
	{"ito", "伊藤 恵", "福祉課", []api.Role{api.RoleStaff}},
}

// demoSeeders are run by SeedDemo in this order; a domain that joins the
// demo adds its seeder here.
var demoSeeders = []struct {
	name string
	seed func(ctx context.Context, svc *services.Services, out io.Writer) error
}{
	{"staff", seedDemoUsers},
	{"office PCs", seedDemoTerminals},
	{"satellite office", seedDemoSatellite},
}

// SeedDemo adds the demo data that is missing; running it twice is harmless.
func SeedDemo(ctx context.Context, svc *services.Services, out io.Writer) error {
	for _, s := range demoSeeders {
		if err := s.seed(ctx, svc, out); err != nil {
			return fmt.Errorf("demo %s: %w", s.name, err)
		}
	}
	return nil
}

func seedDemoUsers(ctx context.Context, svc *services.Services, out io.Writer) error {
	a := svc.Auth
	for _, u := range DemoUsers {
		_, err := a.CreateUser(ctx, "demo", api.CreateUserRequest{ID: u.ID, Name: u.Name, Department: u.Department, Roles: u.Roles})
		if e := api.AsError(err); e != nil && e.Code == api.CodeUserExists {
			continue
		} else if err != nil {
			return fmt.Errorf("demo user %s: %w", u.ID, err)
		}
		if err := a.SetUserPassword(ctx, "demo", u.ID, DemoPassword, false); err != nil {
			return fmt.Errorf("demo user %s: %w", u.ID, err)
		}
		if err := a.SetTOTPSecret(ctx, u.ID, DemoTOTPSecret, true); err != nil {
			return fmt.Errorf("demo user %s: %w", u.ID, err)
		}
	}
	if out != nil {
		fmt.Fprintf(out, "Demo staff: yamada, sato, suzuki, tanaka (supervisor), admin (IT) — password %s\n", DemoPassword)
	}
	return nil
}
