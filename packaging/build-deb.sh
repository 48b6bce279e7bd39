#!/usr/bin/env bash
# Builds the Debian package rarangi_<version>_<arch>.deb from this checkout.
#
#     packaging/build-deb.sh            # build, then run lintian on the .deb
#     packaging/build-deb.sh --no-lintian
#
# Output goes to build/deb/ (the .deb, its -dbgsym .ddeb, .buildinfo and
# .changes). The Swift toolchain must be on PATH; the Debian packages the
# build needs (debhelper, dpkg-dev, libevent-dev, libyaml-dev, lintian, ...) are
# installed with apt-get when missing, which needs root.
#
# How: the files git tracks (plus new, not ignored ones) are copied into a
# scratch tree under .build-deb/, packaging/debian/ becomes its debian/, and
# `dpkg-buildpackage -b` builds there, so a developer's .build is untouched
# and nothing is built from stale or ignored files.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$root/build/deb
scratch=$root/.build-deb
run_lintian=1

for arg in "$@"; do
    case $arg in
    --no-lintian) run_lintian=0 ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf 'build-deb: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v swift >/dev/null || die "no 'swift' on PATH: install the Swift toolchain first"

# Debian build dependencies: those in debian/control, plus build-essential,
# which dpkg-checkbuilddeps also requires, and lintian for the check below.
build_deps=(build-essential debhelper dpkg-dev libevent-dev libyaml-dev pkgconf lintian)
if ! command -v dpkg-checkbuilddeps >/dev/null ||
   ! dpkg-checkbuilddeps "$root/packaging/debian/control" 2>/dev/null ||
   { [ "$run_lintian" = 1 ] && ! command -v lintian >/dev/null; }; then
    [ "$(id -u)" = 0 ] || die "missing build dependencies (${build_deps[*]}); run as root or install them"
    say "installing build dependencies: ${build_deps[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${build_deps[@]}" >/dev/null
fi

version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
src=$scratch/src/rarangi-$version
say "version $version; scratch tree ${src#"$root"/}"

# A fresh copy of the source: tracked and new files, never ignored ones
# (.build, Package.resolved, build output).
rm -rf "$scratch/src"
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$root" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$src" -xf -
else
    tar -C "$root" --exclude=./.git --exclude='./.build*' --exclude=./build -cf - . | tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a "$root/packaging/debian" "$src/debian"

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
say "dpkg-buildpackage -b -us -uc (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
(cd "$src" && dpkg-buildpackage -b -us -uc)

mkdir -p "$out"
rm -f "$out"/rarangi*_*.deb "$out"/rarangi*_*.ddeb "$out"/rarangi_*.buildinfo "$out"/rarangi_*.changes
mv "$scratch"/src/rarangi*_"$version"_*.*deb "$scratch"/src/rarangi_"$version"_*.buildinfo \
   "$scratch"/src/rarangi_"$version"_*.changes "$out"/
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$out/rarangi_${version}_$arch.deb
[ -f "$deb" ] || die "dpkg-buildpackage made no ${deb#"$root"/}"

say "built ${deb#"$root"/} ($(du -h "$deb" | cut -f1))"
dpkg-deb --field "$deb" Depends | sed 's/^/build-deb: Depends: /' >&2

if [ "$run_lintian" = 1 ]; then
    say "lintian ${deb#"$root"/}"
    # --fail-on error,warning: any error or warning not overridden (with a
    # reason) in debian/rarangi.lintian-overrides fails the build.
    lintian --fail-on error,warning --display-info "$deb"
fi
echo "$deb"
