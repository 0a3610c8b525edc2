/* cmd_completion.c: `netpol completion bash|zsh`, a completion script for
 * netpol (and for kubectl when run through the symlink). Verbs and each
 * verb's flags come from the program's own help at completion time, so
 * the script never lags behind the dispatch table; the resource kinds
 * are those of kinds.c. zsh runs the bash function through bashcompinit. */
#include "commands.h"
#include "kctl.h"

#include <stdlib.h>
#include <string.h>

static const char completion_usage[] =
	"Output shell completion code for bash or zsh.\n\n"
	"Usage:\n"
	"  netpol completion bash|zsh\n\n"
	"  source <(netpol completion bash)     # in ~/.bashrc\n"
	"  source <(netpol completion zsh)      # in ~/.zshrc\n";

static const char script_body[] =
	"_netpol_complete() {\n"
	"    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	"    local prog=${COMP_WORDS[0]} verb= i\n"
	"    for ((i = 1; i < COMP_CWORD; i++)); do\n"
	"        case ${COMP_WORDS[i]} in\n"
	"        -n|--namespace|--socket|--state-dir|--lab|--kubeconfig|--context) ((i++)) ;;\n"
	"        -*) ;;\n"
	"        *) verb=${COMP_WORDS[i]}; break ;;\n"
	"        esac\n"
	"    done\n"
	"    local verbs\n"
	"    verbs=\"$(\"$prog\" help 2>/dev/null | sed -n 's/^  \\([a-z][a-z-]*\\) .*/\\1/p') help\"\n"
	"    if [[ $cur == -* ]]; then\n"
	"        local flags=\"--namespace --socket --state-dir --lab --help\"\n"
	"        [[ -n $verb ]] && flags=$(\"$prog\" \"$verb\" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)\n"
	"        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
	"        return\n"
	"    fi\n"
	"    if [[ -z $verb ]]; then\n"
	"        COMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\"))\n"
	"        return\n"
	"    fi\n"
	"    case $prev in\n"
	"    -o|--output) COMPREPLY=($(compgen -W \"json yaml name wide jsonpath=\" -- \"$cur\")); return ;;\n"
	"    -f|--filename) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	"    esac\n"
	"    case $verb in\n"
	"    get|describe|delete|label|expose|create) COMPREPLY=($(compgen -W \"$_netpol_kinds\" -- \"$cur\")) ;;\n"
	"    help) COMPREPLY=($(compgen -W \"$verbs\" -- \"$cur\")) ;;\n"
	"    completion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n"
	"    reach|lint) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n"
	"    esac\n"
	"}\n";

static void print_script(bool zsh)
{
	if (zsh)
		printf("#compdef netpol\nautoload -U +X bashcompinit && bashcompinit\n");
	printf("# netpol completion (%s): source <(netpol completion %s)\n", zsh ? "zsh" : "bash",
	       zsh ? "zsh" : "bash");
	size_t n;
	const struct kkind *kinds = kctl_kinds(&n);
	printf("_netpol_kinds=\"");
	for (size_t i = 0; i < n; i++)
		printf("%s%s %s %s", i ? " " : "", kinds[i].resource, kinds[i].singular, kinds[i].alias);
	printf("\"\n%s", script_body);
	printf("complete -o default -F _netpol_complete netpol\n");
	const char *prog = getenv("NETPOL_PROG");
	if (prog && strcmp(prog, "kubectl") == 0)
		printf("complete -o default -F _netpol_complete kubectl\n");
}

int cmd_completion(int argc, char **argv)
{
	struct kctl k;
	int r = kctl_init(&k, argc, argv, (const struct kflag[]){{0}}, completion_usage);
	if (r != 0)
		return r < 0 ? 1 : 0;
	int ret = 0;
	if (k.args.n != 1)
		ret = kctl_error("Shell not specified.\nSee '%s completion -h' for help and examples", k.prog);
	else if (strcmp(k.args.v[0], "bash") && strcmp(k.args.v[0], "zsh"))
		ret = kctl_error("Unsupported shell type \"%s\".", k.args.v[0]);
	else
		print_script(strcmp(k.args.v[0], "zsh") == 0);
	kctl_done(&k);
	return ret;
}
