package protect

import (
	"strings"
	"testing"
)

func TestPasswordHashVerifies(t *testing.T) {
	h := HashPassword("correct horse")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected hash encoding %q", h)
	}
	if !VerifyPassword(h, "correct horse") {
		t.Fatal("the right password was refused")
	}
	if VerifyPassword(h, "correct horsE") {
		t.Fatal("a wrong password was accepted")
	}
	if HashPassword("correct horse") == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyPasswordWithoutHashNeverMatches(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2id$v=19$m=1,t=1,p=1$$"} {
		if VerifyPassword(h, "") || VerifyPassword(h, "keygate-dummy-password") {
			t.Fatalf("hash %q matched", h)
		}
	}
}
