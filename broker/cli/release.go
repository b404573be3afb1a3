package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/release"
)

func releaseOnlineKey(fs *flag.FlagSet) runFunc {
	fresh := fs.Bool("new", false, "make a new online key (the old one signs nothing more once a key list drops it)")
	return func(ctx context.Context, env *Env, args []string) error {
		key, err := env.Releases.OnlineKey(ctx)
		if err != nil {
			return err
		}
		if key == "" || *fresh {
			if key, err = env.Releases.InitOnlineKey(ctx, env.Actor); err != nil {
				return err
			}
			fmt.Fprintln(env.Err, "made a new online key; add it to the \"online\" keys of the next key list")
		}
		fmt.Fprintln(env.Out, key)
		return nil
	}
}

func releaseKeys(fs *flag.FlagSet) runFunc {
	sigPath := fs.String("sig", "", "the minisign signature (default FILE.minisig)")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "the key list file"); err != nil {
			return err
		}
		body, sig, err := readSigned(args[0], *sigPath)
		if err != nil {
			return err
		}
		kl, err := env.Releases.AddKeyList(ctx, env.Actor, body, sig)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "key list %d: %d root, %d release, %d online, %d retired keys\n",
			kl.Serial, len(kl.Roots), len(kl.Release), len(kl.Online), len(kl.Retired))
		return nil
	}
}

func releasePublish(fs *flag.FlagSet) runFunc {
	var p release.PublishRequest
	fs.StringVar(&p.Version, "version", "", "the binary's version, e.g. 1.4.0")
	fs.StringVar(&p.OS, "os", "", "linux, windows or darwin")
	fs.StringVar(&p.Arch, "arch", "amd64", "amd64 or arm64")
	fs.StringVar(&p.Channel, "channel", "stable", "release channel")
	fs.IntVar(&p.Rollout, "rollout", 100, "percent of devices offered it at once")
	sigPath := fs.String("sig", "", "the minisign signature (default FILE.minisig)")
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 1, "the binary"); err != nil {
			return err
		}
		body, sig, err := readSigned(args[0], *sigPath)
		if err != nil {
			return err
		}
		p.Signature = sig
		r, err := env.Releases.Publish(ctx, env.Actor, p, body)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "published %s: %s %s/%s/%s, %d bytes, sha256 %s, rollout %d%%\n",
			r.ID, r.Version, r.Channel, r.OS, r.Arch, r.Size, r.SHA256, r.Rollout)
		return nil
	}
}

func readSigned(path, sigPath string) ([]byte, string, error) {
	if sigPath == "" {
		sigPath = path + ".minisig"
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		return nil, "", fmt.Errorf("signature: %w (sign with minisign -S, or give --sig)", err)
	}
	return body, string(sig), nil
}

func releaseList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, env *Env, args []string) error {
		l, err := env.Releases.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(env.Out, l)
		}
		fmt.Fprintf(env.Out, "key list: %d\nonline key: %s\n", l.KeySerial, l.OnlineKey)
		for _, c := range l.Channels {
			fmt.Fprintf(env.Out, "channel %s: pin %q, minimum %q\n", c.Name, c.Pin, c.MinVersion)
		}
		tw := tabwriter.NewWriter(env.Out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tVERSION\tCHANNEL\tOS/ARCH\tSIZE\tKEY\tROLLOUT\tPUBLISHED")
		for _, r := range l.Releases {
			printRow(tw, "%s\t%s\t%s\t%s/%s\t%d\t%s\t%d%%\t%s\n", r.ID, r.Version, r.Channel, r.OS, r.Arch, r.Size, r.KeyID,
				r.Rollout, r.PublishedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
}

func releaseRollout(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		if err := needArgs(args, 2, "a release ID and a percentage"); err != nil {
			return err
		}
		pct, err := strconv.Atoi(args[1])
		if err != nil {
			return fmt.Errorf("percent: a number from 0 to 100")
		}
		r, err := env.Releases.SetRollout(ctx, env.Actor, args[0], pct)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "%s (%s) rolls out to %d%% of devices\n", r.ID, r.Version, r.Rollout)
		return nil
	}
}

func channelSetter(what string, set func(up *api.ChannelUpdate, v *string)) func(*flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		return func(ctx context.Context, env *Env, args []string) error {
			if err := needArgs(args, 2, "a channel and a version (or none)"); err != nil {
				return err
			}
			v := args[1]
			if v == "none" {
				v = ""
			}
			var up api.ChannelUpdate
			set(&up, &v)
			c, err := env.Releases.UpdateChannel(ctx, env.Actor, args[0], up)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "channel %s: pin %q, minimum %q (%s set)\n", c.Name, c.Pin, c.MinVersion, what)
			return nil
		}
	}
}

var (
	releasePin     = channelSetter("pin", func(up *api.ChannelUpdate, v *string) { up.Pin = v })
	releaseMinimum = channelSetter("minimum", func(up *api.ChannelUpdate, v *string) { up.MinVersion = v })
)

func releaseSign(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, env *Env, args []string) error {
		n, err := env.Releases.SignManifests(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Out, "signed %d manifests\n", n)
		return nil
	}
}
