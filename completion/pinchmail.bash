# bash completion for pinchmail(1)
# Install: copy to /usr/share/bash-completion/completions/pinchmail (or
# ~/.local/share/bash-completion/completions/pinchmail), or: source <(pinchmail completion bash)

_pinchmail() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=""
    [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
    # bash splits "--opt=value" at the "=" (COMP_WORDBREAKS): "--opt" "=" "value".
    if [ "$cur" = "=" ]; then
        cur=""
    elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    fi

    local commands="fetch daemon status check route init import demo completion help"
    local global="-c --config -a --account --json -n --dry-run -q --quiet -v --verbose -h --help -V --version"
    # The flags that take a value, in the next word or after "=".
    local valued=" -c --config -a --account --test --host --port --user --tls --password-env --password-file --password-command --maildir --command --warn-failing --crit-failing --max-age --parallel --metrics --listen --from --passwords --from-james --local-users --local-domains --local-maildir "

    # The command, and the config file named so far (for account names).
    local i word command="" config=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            -c?*) config=${word#-c} ;;
            -*)
                if [[ $valued == *" $word "* ]]; then
                    [ "${COMP_WORDS[i+1]}" = "=" ] && ((i++))
                    ((i++))
                    if [ "$word" = -c ] || [ "$word" = --config ]; then config=${COMP_WORDS[i]}; fi
                fi
                ;;
            *) [ -z "$command" ] && command=$word ;;
        esac
    done
    # As typed (quotes, backslashes, ~): read it as the shell would, unless it could run something.
    if [[ -n $config && $config != *[\$\`\(\)\;\&\|\<\>]* ]]; then
        local typed=$config
        eval "config=$typed" 2>/dev/null || config=$typed
    fi

    case $prev in
        -c | --config | --test | --password-file | --metrics | --from | --from-james)
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
            return 0
            ;;
        --maildir | --local-maildir)
            COMPREPLY=($(compgen -d -- "$cur"))
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
        --tls)
            COMPREPLY=($(compgen -W "implicit starttls none" -- "$cur"))
            return 0
            ;;
        --passwords)
            COMPREPLY=($(compgen -W "file env inline" -- "$cur"))
            return 0
            ;;
        --host)
            COMPREPLY=($(compgen -A hostname -- "$cur"))
            return 0
            ;;
        --password-env)
            COMPREPLY=($(compgen -e -- "$cur"))
            return 0
            ;;
        --port | --user | --password-command | --command | --warn-failing | --crit-failing | --max-age | --parallel | --listen)
            COMPREPLY=()
            return 0
            ;;
    esac

    local flags=$global
    case $command in
        fetch | "") flags="$flags --parallel --metrics" ;;
        daemon) flags="$flags --parallel --metrics --listen" ;;
        status) flags="$flags --check --warn-failing --crit-failing --max-age" ;;
        check) flags="$flags --connect" ;;
        init) flags="$flags --host --port --user --tls --password-env --password-file --password-command --maildir --command --force" ;;
        import)
            # The fetcher to import from, then its flags.
            if [[ $cur != -* ]] && [ "$prev" = import ]; then
                COMPREPLY=($(compgen -W "mpop fetchmail getmail" -- "$cur"))
                return 0
            fi
            flags="$flags --from --passwords --all-new --force"
            ;;
        route) flags="$flags --test --from-james --local-users --local-domains --local-maildir" ;;
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
