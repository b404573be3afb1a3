package update_test

import (
	"testing"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/update"
)

// Every refusal reason has words in both languages under
// update.refused.<reason>, which is how the faces say it.
func TestEveryReasonIsWorded(t *testing.T) {
	for _, r := range []update.Reason{update.ReasonSignature, update.ReasonRetired, update.ReasonUntrusted,
		update.ReasonKeyChain, update.ReasonExpired, update.ReasonOlder, update.ReasonSize, update.ReasonTruncated,
		update.ReasonChecksum, update.ReasonManifest, update.ReasonNoKeys} {
		for _, lang := range []string{"ja", "en"} {
			if _, ok := i18n.Table(lang)[i18n.Key("update.refused."+string(r))]; !ok {
				t.Errorf("%s: no %s words for update.refused.%s", r, lang, r)
			}
		}
	}
}
