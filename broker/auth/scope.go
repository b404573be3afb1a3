package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"

	"github.com/zaitaku/zaitaku/broker/api"
)

// A department's own IT contact (api.RoleDeptAdmin) acts through the same
// admin routes as central IT, limited to one department. The limit rides
// on the request's context, set by the server when it was a department
// admin role that let the caller in, so that every domain that holds
// staff or PCs (auth, terminal, roster) checks it where it reads the
// target, inside its own transaction where there is one. One-shot CLI
// commands run on the data directory set none: they are central IT.

type deptKey struct{}

// LimitToDepartment returns ctx limited to one department's staff and PCs.
func LimitToDepartment(ctx context.Context, department string) context.Context {
	return context.WithValue(ctx, deptKey{}, department)
}

// DepartmentLimit returns the department ctx is limited to, if any.
func DepartmentLimit(ctx context.Context) (string, bool) {
	d, ok := ctx.Value(deptKey{}).(string)
	return d, ok
}

// InScope reports whether ctx may see and manage u: always without a
// limit; with one, only accounts of that department that hold no
// privileged role (central IT, auditors and department IT contacts are
// central IT's to manage, so a department cannot take one over).
func InScope(ctx context.Context, u api.User) bool {
	d, limited := DepartmentLimit(ctx)
	if !limited {
		return true
	}
	return d != "" && u.Department == d && !slices.ContainsFunc(u.Roles, isPrivileged)
}

// DepartmentInScope reports whether ctx may manage things (office PCs,
// roster lines) of the given department.
func DepartmentInScope(ctx context.Context, department string) bool {
	d, limited := DepartmentLimit(ctx)
	return !limited || (d != "" && d == department)
}

func isPrivileged(r api.Role) bool { return slices.Contains(api.PrivilegedRoles, r) }

// checkGrant refuses, under a department limit, a department other than
// the caller's or a privileged role: what a department IT contact may not
// give.
func checkGrant(ctx context.Context, department string, roles []api.Role) *api.Error {
	d, limited := DepartmentLimit(ctx)
	if !limited {
		return nil
	}
	if department != d {
		return api.Errf(api.CodeForbidden, "department: you manage %s only", d)
	}
	for _, r := range roles {
		if isPrivileged(r) {
			return api.Errf(api.CodeForbidden, "roles: %s is granted by central IT", r)
		}
	}
	return nil
}

// scoped returns ErrNotFound for a user out of ctx's scope: to a
// department IT contact another department's staff do not exist, so
// asking by ID tells them nothing.
func scoped(ctx context.Context, u UserRecord) error {
	if !InScope(ctx, u.User) {
		return ErrNotFound
	}
	return nil
}

// UnusablePasswordHash is a well-formed hash of a random password nobody
// knows: accounts loaded from a roster carry it until IT issues a
// temporary password, so a sign-in to them fails as a wrong password
// does, in the same time. One hash serves a whole import (argon2 per line
// would take minutes for 10,000 lines).
func (s *Service) UnusablePasswordHash(ctx context.Context) (string, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return s.hash(ctx, base64.RawStdEncoding.EncodeToString(b[:]))
}

// EndUserSessions revokes every session of a user (disabled by a roster
// import) and tells the rest of the broker, as disabling by hand does.
func (s *Service) EndUserSessions(ctx context.Context, actor, userID string) error {
	userID = NormalizeID(userID)
	if _, err := s.st.RevokeSessions(ctx, userID, "", s.now()); err != nil {
		return err
	}
	s.sessionsEnded(ctx, SessionsEnded{UserID: userID, Reason: api.EndAdmin})
	return nil
}
