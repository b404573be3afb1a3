package postgres

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/zaitaku/zaitaku/broker/release"
)

// Releases adapts the store to release.Store.
type Releases struct{ s *Store }

// Releases returns the self-update store.
func (s *Store) Releases() release.Store { return &Releases{s} }

var _ release.Store = (*Releases)(nil)

// chunkSize is the size of one stored piece of a binary: small enough
// that a download holds little in memory, large enough that a 50 MB
// binary is a few dozen rows.
const chunkSize = 1 << 20

// AddKeyList implements release.Store.
func (r *Releases) AddKeyList(ctx context.Context, k release.KeyListRecord) error {
	_, err := r.s.db.ExecContext(ctx, `INSERT INTO release_keylists(serial, body, signature, added_at) VALUES(?,?,?,?)`,
		k.Serial, k.Body, k.Signature, ms(k.AddedAt))
	if isUnique(err) {
		return fmt.Errorf("key list %d: %w", k.Serial, release.ErrConflict)
	}
	return err
}

// KeyLists implements release.Store.
func (r *Releases) KeyLists(ctx context.Context, after int) ([]release.KeyListRecord, error) {
	rows, err := r.s.db.QueryContext(ctx, `SELECT serial, body, signature, added_at FROM release_keylists WHERE serial > ? ORDER BY serial`, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []release.KeyListRecord
	for rows.Next() {
		var k release.KeyListRecord
		var added int64
		if err := rows.Scan(&k.Serial, &k.Body, &k.Signature, &added); err != nil {
			return nil, err
		}
		k.AddedAt = fromMS(added)
		out = append(out, k)
	}
	return out, rows.Err()
}

const releaseCols = `id, version, os, arch, channel, size, sha256, key_id, signature, rollout, published_at, published_by`

func scanRelease(row scanner) (release.Record, error) {
	var x release.Record
	var pub int64
	err := row.Scan(&x.ID, &x.Version, &x.OS, &x.Arch, &x.Channel, &x.Size, &x.SHA256, &x.KeyID, &x.Signature,
		&x.Rollout, &pub, &x.PublishedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return x, release.ErrNotFound
	}
	x.PublishedAt = fromMS(pub)
	return x, err
}

// AddRelease implements release.Store: the row and every chunk in one
// transaction, so a release is never served half stored.
func (r *Releases) AddRelease(ctx context.Context, x release.Record, body io.Reader) error {
	return r.s.Tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO releases(`+releaseCols+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
			x.ID, x.Version, x.OS, x.Arch, x.Channel, x.Size, x.SHA256, x.KeyID, x.Signature, x.Rollout,
			ms(x.PublishedAt), x.PublishedBy)
		if isUnique(err) {
			return fmt.Errorf("release %s %s: %w", x.ID, x.Version, release.ErrConflict)
		} else if err != nil {
			return err
		}
		buf := make([]byte, chunkSize)
		var total int64
		for n := 0; ; n++ {
			k, err := io.ReadFull(body, buf)
			if k > 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO release_chunks(release_id, n, data) VALUES(?,?,?)`,
					x.ID, n, bytes.Clone(buf[:k])); err != nil {
					return err
				}
				total += int64(k)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			} else if err != nil {
				return err
			}
		}
		if total != x.Size {
			return fmt.Errorf("release %s: body is %d bytes, record says %d", x.ID, total, x.Size)
		}
		return nil
	})
}

// Releases implements release.Store.
func (r *Releases) Releases(ctx context.Context) ([]release.Record, error) {
	rows, err := r.s.db.QueryContext(ctx, `SELECT `+releaseCols+` FROM releases ORDER BY published_at, n`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []release.Record
	for rows.Next() {
		x, err := scanRelease(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// GetRelease implements release.Store.
func (r *Releases) GetRelease(ctx context.Context, id string) (release.Record, error) {
	return scanRelease(r.s.db.QueryRowContext(ctx, `SELECT `+releaseCols+` FROM releases WHERE id = ?`, id))
}

// OpenRelease implements release.Store: chunks are read one at a time as
// the caller reads.
func (r *Releases) OpenRelease(ctx context.Context, id string) (io.ReadCloser, error) {
	if _, err := r.GetRelease(ctx, id); err != nil {
		return nil, err
	}
	return &chunkReader{ctx: ctx, db: r.s.db, id: id}, nil
}

type chunkReader struct {
	ctx  context.Context
	db   *DB
	id   string
	n    int
	cur  []byte
	done bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.done {
			return 0, io.EOF
		}
		err := c.db.QueryRowContext(c.ctx, `SELECT data FROM release_chunks WHERE release_id = ? AND n = ?`, c.id, c.n).Scan(&c.cur)
		if errors.Is(err, sql.ErrNoRows) {
			c.done = true
			continue
		} else if err != nil {
			return 0, err
		}
		c.n++
	}
	k := copy(p, c.cur)
	c.cur = c.cur[k:]
	return k, nil
}

func (c *chunkReader) Close() error { return nil }

// SetRollout implements release.Store.
func (r *Releases) SetRollout(ctx context.Context, id string, percent int) error {
	res, err := r.s.db.ExecContext(ctx, `UPDATE releases SET rollout = ? WHERE id = ?`, percent, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("release %s: %w", id, release.ErrNotFound)
	}
	return nil
}

// Channels implements release.Store.
func (r *Releases) Channels(ctx context.Context) ([]release.Channel, error) {
	rows, err := r.s.db.QueryContext(ctx, `SELECT name, pin, min_version, updated_at FROM release_channels ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []release.Channel
	for rows.Next() {
		var c release.Channel
		var up int64
		if err := rows.Scan(&c.Name, &c.Pin, &c.MinVersion, &up); err != nil {
			return nil, err
		}
		c.UpdatedAt = fromMS(up)
		out = append(out, c)
	}
	return out, rows.Err()
}

// PutChannel implements release.Store.
func (r *Releases) PutChannel(ctx context.Context, c release.Channel) error {
	_, err := r.s.db.ExecContext(ctx, `INSERT INTO release_channels(name, pin, min_version, updated_at) VALUES(?,?,?,?)
		ON CONFLICT(name) DO UPDATE SET pin = excluded.pin, min_version = excluded.min_version, updated_at = excluded.updated_at`,
		c.Name, c.Pin, c.MinVersion, ms(c.UpdatedAt))
	return err
}

// Signer implements release.Store.
func (r *Releases) Signer(ctx context.Context) (release.SignerRecord, error) {
	var s release.SignerRecord
	var created int64
	err := r.s.db.QueryRowContext(ctx, `SELECT public_key, sealed, created_at FROM release_signer WHERE id = 1`).
		Scan(&s.PublicKey, &s.Sealed, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return s, release.ErrNotFound
	}
	s.CreatedAt = fromMS(created)
	return s, err
}

// PutSigner implements release.Store.
func (r *Releases) PutSigner(ctx context.Context, s release.SignerRecord) error {
	_, err := r.s.db.ExecContext(ctx, `INSERT INTO release_signer(id, public_key, sealed, created_at) VALUES(1,?,?,?)
		ON CONFLICT(id) DO UPDATE SET public_key = excluded.public_key, sealed = excluded.sealed, created_at = excluded.created_at`,
		s.PublicKey, s.Sealed, ms(s.CreatedAt))
	return err
}

const manifestCols = `channel, os, arch, body, signature, expires`

func scanManifest(row scanner) (release.ManifestRecord, error) {
	var m release.ManifestRecord
	var exp int64
	err := row.Scan(&m.Channel, &m.OS, &m.Arch, &m.Body, &m.Signature, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return m, release.ErrNotFound
	}
	m.Expires = fromMS(exp)
	return m, err
}

// PutManifest implements release.Store.
func (r *Releases) PutManifest(ctx context.Context, m release.ManifestRecord) error {
	_, err := r.s.db.ExecContext(ctx, `INSERT INTO release_manifests(`+manifestCols+`) VALUES(?,?,?,?,?,?)
		ON CONFLICT(channel, os, arch) DO UPDATE SET body = excluded.body, signature = excluded.signature, expires = excluded.expires`,
		m.Channel, m.OS, m.Arch, m.Body, m.Signature, ms(m.Expires))
	return err
}

// Manifest implements release.Store.
func (r *Releases) Manifest(ctx context.Context, channel, goos, arch string) (release.ManifestRecord, error) {
	return scanManifest(r.s.db.QueryRowContext(ctx, `SELECT `+manifestCols+` FROM release_manifests
		WHERE channel = ? AND os = ? AND arch = ?`, channel, goos, arch))
}

// Manifests implements release.Store.
func (r *Releases) Manifests(ctx context.Context) ([]release.ManifestRecord, error) {
	rows, err := r.s.db.QueryContext(ctx, `SELECT `+manifestCols+` FROM release_manifests ORDER BY channel, os, arch`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []release.ManifestRecord
	for rows.Next() {
		m, err := scanManifest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
