# The two commands of the README (sandbox, test) and the stages they are made of.
.PHONY: sandbox sandbox-destroy test platform bootstrap image mirror lint unit apps molecule

sandbox:          ## build what is needed, create the sandbox hosts, run site.yml, print what is there
	tests/harness/sandbox.sh

sandbox-destroy:  ## remove the sandbox hosts and their network
	tests/harness/sandbox.sh --destroy

test:             ## the whole suite: lint, unit tests, services, every role scenario, the platform scenario's core
	tests/harness/test.sh

platform:         ## the whole platform scenario, every runbook command (about 60 min; replaces a running sandbox)
	tests/harness/test.sh bootstrap image mirror
	FLASKFLEET_PLATFORM_SCOPE=full tests/harness/molecule.sh platform

bootstrap:        ## apt packages, Docker engine, .venv
	tests/harness/test.sh bootstrap

image mirror lint unit apps:
	tests/harness/test.sh bootstrap $@

molecule:         ## every scenario; one scenario: molecule test -s NAME (after make mirror)
	tests/harness/test.sh bootstrap image mirror molecule
