/* demo verbs for the netpol dispatch table (src/cli/main.c). */
