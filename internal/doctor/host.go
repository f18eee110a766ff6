package doctor

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

func (o Options) checkPTR(ctx context.Context, rep *Report) {
	if len(o.IPs) == 0 {
		rep.add(Item{Check: "ptr", Status: Warn, Evidence: "no server IP known",
			Fix: "give the public IP(s): mailwarden doctor --ip ADDR, or set [envelope.helo] our_addresses"})
		return
	}
	helo := strings.ToLower(strings.TrimSuffix(o.HELO, "."))
	for _, ip := range o.IPs {
		c, cancel := o.ctx(ctx)
		names, err := o.Resolver.LookupPTR(c, ip)
		cancel()
		o.Logger.Debug("lookup", "ip", ip, "type", "PTR", "error", err)
		ptrFix := fmt.Sprintf("ask whoever runs the reverse zone of %s (your provider) to set its PTR to %s", ip, orName(helo))
		if err != nil || len(names) == 0 {
			ev := "no PTR for " + ip.String()
			if err != nil && !resolverNotFound(err) {
				ev = "PTR " + ip.String() + ": " + err.Error()
			}
			rep.add(Item{Check: "ptr", Status: Fail, Evidence: ev, Fix: ptrFix})
			continue
		}
		var confirmed []string
		for _, n := range names {
			n = strings.ToLower(strings.TrimSuffix(n, "."))
			c, cancel := o.ctx(ctx)
			addrs, err := o.Resolver.LookupIP(c, n)
			cancel()
			o.Logger.Debug("lookup", "name", n, "type", "A/AAAA", "error", err)
			for _, a := range addrs {
				if a.Unmap() == ip.Unmap() {
					confirmed = append(confirmed, n)
					break
				}
			}
		}
		if len(confirmed) == 0 {
			rep.add(Item{Check: "ptr", Status: Fail,
				Evidence: fmt.Sprintf("%s has PTR %s, which does not resolve back to %s (no FCrDNS)", ip, strings.Join(names, ","), ip),
				Fix:      fmt.Sprintf("publish: %s IN %s %s", fqdn(strings.TrimSuffix(names[0], ".")), aType(ip.Is4()), ip)})
			continue
		}
		rep.add(Item{Check: "ptr", Status: Pass, Evidence: fmt.Sprintf("%s -> %s -> %s (FCrDNS)", ip, confirmed[0], ip)})
		switch {
		case helo == "":
			rep.add(Item{Check: "helo", Status: Warn, Evidence: "no HELO name known",
				Fix: "give it: mailwarden doctor --helo NAME, or set [server] hostname"})
		case containsFold(confirmed, helo):
			rep.add(Item{Check: "helo", Status: Pass, Evidence: "HELO " + helo + " is the PTR name of " + ip.String()})
		default:
			rep.add(Item{Check: "helo", Status: Fail,
				Evidence: fmt.Sprintf("HELO %s, but %s's PTR name is %s", helo, ip, confirmed[0]),
				Fix:      fmt.Sprintf("set Postfix's smtp_helo_name = %s (postconf -e smtp_helo_name=%s), or change the PTR to %s", confirmed[0], confirmed[0], helo)})
		}
	}
}

func orName(s string) string {
	if s == "" {
		return "the server's host name"
	}
	return s
}

func aType(v4 bool) string {
	if v4 {
		return "A"
	}
	return "AAAA"
}

func owner(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func checkKeyPerms(rep *Report, keys []keyFile, o Options) {
	if len(keys) == 0 {
		return
	}
	var bad int
	for _, k := range keys {
		fi, err := os.Stat(k.Path)
		if err != nil {
			continue
		}
		var problems, fixes []string
		if m := fi.Mode().Perm(); m != 0o400 && m != 0o600 {
			problems = append(problems, fmt.Sprintf("mode %04o", m))
			fixes = append(fixes, "chmod 600 "+k.Path)
		}
		if uid, ok := owner(fi); ok && o.ServiceUID >= 0 && uid != o.ServiceUID {
			problems = append(problems, "owner "+userName(uid))
			fixes = append(fixes, fmt.Sprintf("chown %s %s", o.ServiceUser, k.Path))
		}
		if len(problems) > 0 {
			bad++
			rep.add(Item{Check: "key-perms", Status: Fail,
				Evidence: fmt.Sprintf("%s: %s (want owner %s, mode 0400 or 0600)", k.Path, strings.Join(problems, ", "), o.ServiceUser),
				Fix:      strings.Join(fixes, " && ")})
		}
	}
	if bad == 0 {
		rep.add(Item{Check: "key-perms", Status: Pass, Evidence: fmt.Sprintf("%d key file(s) owned by %s, mode 0400/0600", len(keys), o.ServiceUser)})
	}
}

// checkJunk: each Maildir's junk folder tmp/ must belong to the Maildir's
// owner, or delivery into the junk folder fails (SME's guide checks it).
func checkJunk(rep *Report, o Options) {
	if len(o.Maildirs) == 0 || o.JunkFolder == "" {
		return
	}
	var dirs []string
	for _, g := range o.Maildirs {
		m, _ := filepath.Glob(g)
		dirs = append(dirs, m...)
	}
	sort.Strings(dirs)
	checked, bad := 0, 0
	for _, md := range dirs {
		mfi, err := os.Stat(md)
		if err != nil || !mfi.IsDir() {
			continue
		}
		tmp := filepath.Join(md, o.JunkFolder, "tmp")
		tfi, err := os.Stat(tmp)
		if err != nil {
			continue // no junk folder yet: created on the first junk delivery
		}
		checked++
		muid, ok1 := owner(mfi)
		tuid, ok2 := owner(tfi)
		if ok1 && ok2 && muid != tuid {
			bad++
			u := userName(muid)
			rep.add(Item{Check: "junk-owner", Status: Fail,
				Evidence: fmt.Sprintf("%s belongs to %s, its Maildir to %s", tmp, userName(tuid), u),
				Fix:      fmt.Sprintf("chown -R %s: %s", u, filepath.Join(md, o.JunkFolder))})
		}
	}
	if bad == 0 && checked > 0 {
		rep.add(Item{Check: "junk-owner", Status: Pass, Evidence: fmt.Sprintf("%d junk folder(s) owned by their users", checked)})
	}
}
