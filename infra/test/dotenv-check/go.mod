module chatwoot-hetzner/dotenv-check

go 1.22

require github.com/compose-spec/compose-go/v2 v2.0.0-rc.7

require (
	github.com/sirupsen/logrus v1.9.0 // indirect
	golang.org/x/sys v0.1.0 // indirect
)
