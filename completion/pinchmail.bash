# bash completion for pinchmail(1)
# Install: copy to /usr/share/bash-completion/completions/pinchmail (or
# ~/.local/share/bash-completion/completions/pinchmail), or: source <(pinchmail completion bash)

_pinchmail() {
    local cur prev words cword
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}

    local commands="fetch status check route init demo completion help"
    local global="-c --config -a --account --json -n --dry-run -q --quiet -v --verbose -h --help -V --version"

    # The command, and the config file named so far (for account names).
    local i word command="" config=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            -c | --config) config=${COMP_WORDS[i+1]}; ((i++)) ;;
            --config=*) config=${word#--config=} ;;
            -a | --account | --test) ((i++)) ;;
            -*) ;;
            *) [ -z "$command" ] && command=$word ;;
        esac
    done

    case $prev in
        -c | --config | --test)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return 0
            ;;
        -a | --account)
            local names
            if [ -n "$config" ]; then
                names=$(pinchmail completion-accounts -c "$config" 2>/dev/null)
            else
                names=$(pinchmail completion-accounts 2>/dev/null)
            fi
            local IFS=$'\n'
            COMPREPLY=($(compgen -W "$names" -- "$cur"))
            return 0
            ;;
    esac

    local flags=$global
    case $command in
        check) flags="$flags --connect" ;;
        route) flags="$flags --test" ;;
        demo) flags="$flags --keep" ;;
        completion)
            COMPREPLY=($(compgen -W "bash zsh" -- "$cur"))
            return 0
            ;;
        help)
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
            return 0
            ;;
    esac

    if [[ $cur == -* || -n $command ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return 0
}
complete -F _pinchmail pinchmail
