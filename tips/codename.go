// Package tips is the whistleblower intake's core: the codename a source
// keeps, the one slow hash of it the server stores, the submission sealed
// to the oversight body before anything is written, and the signed
// promise of filing the source takes away.
package tips

import (
	"crypto/rand"
	"errors"
	"math"
	"math/big"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/sethvargo/go-diceware/diceware"
	"golang.org/x/crypto/scrypt"
)

// CodenameWords is how many words a codename has: EFF's large word list
// gives each log2(7776) ≈ 12.9 bits, so seven give about 90.
const CodenameWords = 7

// CodenameBits is a codename's entropy in bits.
var CodenameBits = CodenameWords * math.Log2(float64(len(wordList())))

// wordList is EFF's large word list, in dice order, as the served module
// github.com/sethvargo/go-diceware ships it.
var wordList = sync.OnceValue(func() []string {
	wl := diceware.WordListEffLarge()
	var out []string
	var walk func(n, digits int)
	walk = func(n, digits int) {
		if digits == wl.Digits() {
			if w := wl.WordAt(n); w != "" {
				out = append(out, w)
			}
			return
		}
		for d := 1; d <= 6; d++ {
			walk(n*10+d, digits+1)
		}
	}
	walk(0, 0)
	return out
})

var wordSet = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, len(wordList()))
	for _, w := range wordList() {
		m[w] = true
	}
	return m
})

// NewCodename draws a codename: CodenameWords words of the list, each
// uniformly at random (crypto/rand), separated by single spaces.
func NewCodename() (string, error) {
	list := wordList()
	words := make([]string, CodenameWords)
	for i := range words {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
		if err != nil {
			return "", err
		}
		words[i] = list[n.Int64()]
	}
	return strings.Join(words, " "), nil
}

// ErrCodename is the one answer to a codename that is not one: it says
// nothing of why, so that a guess learns nothing.
var ErrCodename = errors.New("tips: that is not a codename of this intake")

// MaxCodename bounds what is read as a codename.
const MaxCodename = 256

// NormalizeCodename reads a codename as a source may type it back (any
// case, any spacing) and returns it as NewCodename wrote it, or
// ErrCodename.
func NormalizeCodename(s string) (string, error) {
	if len(s) > MaxCodename {
		return "", ErrCodename
	}
	words := strings.Fields(strings.ToLower(s))
	if len(words) != CodenameWords {
		return "", ErrCodename
	}
	for _, w := range words {
		if !wordSet()[w] {
			return "", ErrCodename
		}
	}
	return strings.Join(words, " "), nil
}

// The scrypt parameters of a codename's hash: 2^15 × 8 × 128 bytes, 32
// MiB and some tens of milliseconds per guess (OWASP's minimum for
// scrypt is N=2^17 with r=8 at 1 thread; a codename's 90 bits make a
// slower hash buy little, and the intake must answer a source quickly).
const (
	scryptN = 1 << 15
	scryptR = 8
	scryptP = 1
)

// Keys is what a codename gives the server for as long as one request
// lasts: the lookup it finds the source's tip by (the only form of the
// codename it stores), and the identity that opens the replies sealed to
// the source, whose public half (ReplyKey) it stores to seal them with.
type Keys struct {
	Lookup   []byte
	Identity *age.X25519Identity
}

// ReplyKey is the age recipient replies to the codename's holder are
// sealed to.
func (k *Keys) ReplyKey() string { return k.Identity.Recipient().String() }

// DeriveKeys derives a codename's keys: scrypt under the deployment's
// salt gives 64 bytes, the first 32 the lookup and the last 32 the
// X25519 identity. Equal codenames give equal keys; without the codename,
// neither tells anything of it. A string that is not a codename is refused
// with ErrCodename, after the same work as one that is, so that the time
// of the answer tells nothing either.
func DeriveKeys(codename string, salt []byte) (*Keys, error) {
	if len(salt) < 16 {
		return nil, errors.New("tips: a deployment's salt has at least 16 bytes")
	}
	c, cerr := NormalizeCodename(codename)
	if cerr != nil {
		c = codename
		if len(c) > MaxCodename {
			c = c[:MaxCodename]
		}
	}
	k, err := scrypt.Key([]byte(c), salt, scryptN, scryptR, scryptP, 64)
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	id, err := age.ParseX25519Identity(strings.ToUpper(bech32("age-secret-key-", k[32:])))
	if err != nil {
		return nil, err
	}
	return &Keys{Lookup: k[:32], Identity: id}, nil
}
