#!/bin/sh
# link.sh static|shared PACKAGE - the linker flags for PACKAGE (pkg-config),
# its static archives when static and they are installed, else shared
case $1 in
static)
	_libs=$(pkg-config --static --libs "$2") || exit 1
	for _l in $_libs; do
		case $_l in
		-l*)
			# (the first -L of pkg-config, or the compiler's own path)
			[ -n "$(${CC:-cc} -print-file-name="lib${_l#-l}.a" |
			    grep /)" ] || { pkg-config --libs "$2"; exit; }
			;;
		esac
	done
	printf '%s\n' "-Wl,-Bstatic $_libs -Wl,-Bdynamic"
	;;
*)	pkg-config --libs "$2" ;;
esac
