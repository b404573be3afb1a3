package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/minio/selfupdate"

	"github.com/zaitaku/zaitaku/broker/api"
)

// PreviousSuffix names the old binary kept beside the new one, for the
// rollback after a failed start.
const PreviousSuffix = ".previous"

// Apply downloads the offer, verifies it and replaces the binary, keeping
// the old one, then writes the marker the new version clears once it is
// up. The app keeps running the old version until it restarts.
func (u *Updater) Apply(ctx context.Context, o *Offer, progress func(done, total int64)) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	tg := o.Target
	s, err := u.loadState()
	if err != nil {
		return err
	}
	t, err := u.trusted(s)
	if err != nil {
		return err
	}
	// The release key's signature is checked before anything is fetched,
	// so that a binary from a retired or unknown key is not even downloaded.
	key, r := t.signer(t.list.Release, tg.Signature)
	if r != nil {
		return u.refuse(r.Reason, "release "+tg.Version+": "+r.Detail, "target", tg.Version)
	}
	data, err := u.download(ctx, tg, progress)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != tg.SHA256 {
		return u.refuse(ReasonChecksum, "release "+tg.Version+": SHA-256 "+hex.EncodeToString(sum[:])+", manifest says "+tg.SHA256,
			"target", tg.Version)
	}
	if _, r := t.verify(t.list.Release, data, tg.Signature); r != nil {
		return u.refuse(r.Reason, "release "+tg.Version+": "+r.Detail, "target", tg.Version)
	}
	u.record("update.verified", "target", tg.Version, "sha256", tg.SHA256)
	if s.Highest == "" || api.CompareVersions(tg.Version, s.Highest) > 0 {
		s.Highest = tg.Version
		if err := u.saveState(s); err != nil {
			return err
		}
	}
	if err := u.replace(data, sum[:], tg.Signature, key.String()); err != nil {
		u.record("update.apply_failed", "target", tg.Version, "err", err.Error())
		return err
	}
	p := pending{From: u.cfg.Version, To: tg.Version, Previous: u.cfg.Exe + PreviousSuffix, AppliedAt: u.cfg.Now()}
	if err := writeJSON(u.pendingPath(), p); err != nil {
		return err
	}
	u.record("update.applied", "target", tg.Version, "previous", p.Previous)
	return nil
}

// download reads exactly tg.Size bytes: a declared length other than the
// manifest's is refused before reading, a short body after.
func (u *Updater) download(ctx context.Context, tg api.ReleaseTarget, progress func(done, total int64)) ([]byte, error) {
	u.record("update.download", "target", tg.Version, "size", strconv.FormatInt(tg.Size, 10))
	rc, declared, err := u.cfg.Source.DownloadRelease(ctx, tg.URL)
	if err != nil {
		u.record("update.download_failed", "target", tg.Version, "err", err.Error())
		return nil, err
	}
	defer rc.Close()
	if declared >= 0 && declared != tg.Size {
		return nil, u.refuse(ReasonSize, fmt.Sprintf("release %s: the broker sends %d bytes, the manifest says %d", tg.Version, declared, tg.Size),
			"target", tg.Version)
	}
	buf := bytes.NewBuffer(make([]byte, 0, tg.Size))
	chunk := make([]byte, 256<<10)
	lim := io.LimitReader(rc, tg.Size+1)
	for {
		n, err := lim.Read(chunk)
		buf.Write(chunk[:n])
		if progress != nil && n > 0 {
			progress(int64(buf.Len()), tg.Size)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, u.refuse(ReasonTruncated, fmt.Sprintf("release %s: the download broke off after %d of %d bytes (%v)",
				tg.Version, buf.Len(), tg.Size, err), "target", tg.Version)
		}
	}
	switch got := int64(buf.Len()); {
	case got < tg.Size:
		return nil, u.refuse(ReasonTruncated, fmt.Sprintf("release %s: %d of %d bytes", tg.Version, got, tg.Size), "target", tg.Version)
	case got > tg.Size:
		return nil, u.refuse(ReasonSize, fmt.Sprintf("release %s: more than the %d bytes the manifest says", tg.Version, tg.Size), "target", tg.Version)
	}
	return buf.Bytes(), nil
}

// replace hands the verified binary to minio/selfupdate with the
// checksum and its minisign verifier, so the file that is swapped in is
// checked once more at the point of use; the old binary is kept.
func (u *Updater) replace(data, sum []byte, sig, releaseKey string) error {
	sigFile := filepath.Join(u.cfg.StateDir, "update.minisig")
	if err := os.WriteFile(sigFile, []byte(sig), 0o600); err != nil {
		return err
	}
	defer os.Remove(sigFile)
	v := selfupdate.NewVerifier()
	if err := v.LoadFromFile(sigFile, releaseKey); err != nil {
		return err
	}
	mode := os.FileMode(0o755)
	if fi, err := os.Stat(u.cfg.Exe); err == nil {
		mode = fi.Mode().Perm()
	}
	err := selfupdate.Apply(bytes.NewReader(data), selfupdate.Options{TargetPath: u.cfg.Exe, TargetMode: mode,
		Checksum: sum, Verifier: v, OldSavePath: u.cfg.Exe + PreviousSuffix})
	if rerr := selfupdate.RollbackError(err); rerr != nil {
		return fmt.Errorf("update: replacing %s failed and so did putting it back (%v): reinstall the app: %w", u.cfg.Exe, rerr, err)
	}
	return err
}
