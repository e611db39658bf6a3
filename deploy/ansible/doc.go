// Package ansible holds the Ansible inventory, roles and playbooks that
// install, upgrade and back up the 33 centers of the federation; its Go
// tests keep the inventory in step with configs/ and run
// ansible-playbook --syntax-check and ansible-lint when they are installed.
package ansible
