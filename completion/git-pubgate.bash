# bash completion for git pubgate. git's own completion calls _git_pubgate for "git pubgate ...";
# "pubgate ..." is completed too. Installed as share/bash-completion/completions/git-pubgate.

_git_pubgate ()
{
	local subcommands="init plan sync preview publish audit targets hook absorb demo"
	local global="--config --json --verbose --quiet --version -C"
	local subcommand
	subcommand="$(__git_find_on_cmdline "$subcommands")"
	if [ -z "$subcommand" ]; then
		case "$cur" in
		-*) __gitcomp "$global" ;;
		*) __gitcomp "$subcommands" ;;
		esac
		return
	fi
	if [ "$prev" = "--target" ]; then
		__gitcomp "$(git pubgate targets 2>/dev/null)"
		return
	fi
	if [ "$prev" = "--bump" ]; then
		__gitcomp "auto major minor patch none"
		return
	fi
	case "$subcommand,$cur" in
	init,-*) __gitcomp "--force --root --config --json --quiet --verbose" ;;
	plan,-*) __gitcomp "--bump --target --config --json --quiet --verbose" ;;
	sync,-*) __gitcomp "--dry-run --no-pr --allow-divergence --delete-excluded --init --bump --target --config --json --quiet --verbose" ;;
	preview,-*) __gitcomp "--target --config --json --quiet --verbose" ;;
	publish,-*) __gitcomp "--dry-run --repository-url --no-isolation --target --config --json --quiet --verbose" ;;
	audit,-*) __gitcomp "--lfs --target --config --json --quiet --verbose" ;;
	targets,-*) __gitcomp "--config --json --quiet --verbose" ;;
	hook,-*) __gitcomp "--via-config --config --json --quiet --verbose" ;;
	hook,*) __gitcomp "install uninstall pre-push" ;;
	absorb,-*) __gitcomp "--dry-run --no-pr --continue --abort --target --config --json --quiet --verbose" ;;
	demo,-*) __gitcomp "--keep --config --json --quiet --verbose" ;;
	esac
}

_pubgate ()
{
	local cur prev words cword
	_get_comp_words_by_ref -n =: cur prev words cword 2>/dev/null || return
	if [ "$cword" -eq 1 ]; then
		COMPREPLY=($(compgen -W "init plan sync preview publish audit targets hook absorb demo --config --json --verbose --quiet --version -C" -- "$cur"))
	fi
}
complete -F _pubgate pubgate
