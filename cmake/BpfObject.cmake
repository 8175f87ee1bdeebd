# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# ember_bpf_object(<name> <source.bpf.c>)
#
# Builds one BPF object with clang, strips its DWARF (BTF stays), generates the libbpf skeleton
# <name>.skel.h (struct <name>_bpf) atomically (temporary file, then rename) and defines the INTERFACE target
# <name>_skel that consumers link to get the skeleton's directory as a SYSTEM include.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPF_STRIP NAMES llvm-strip-14 llvm-strip REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

set(EMBER_VMLINUX_DIR ${CMAKE_CURRENT_LIST_DIR}/../bpf/vmlinux/x86)

function(ember_bpf_object name source)
	set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
	set(obj ${out_dir}/${name}.bpf.o)
	set(skel ${out_dir}/${name}.skel.h)
	set(dep ${out_dir}/${name}.bpf.d)
	get_filename_component(src ${source} ABSOLUTE)
	get_filename_component(src_dir ${src} DIRECTORY)
	file(MAKE_DIRECTORY ${out_dir})
	add_custom_command(
		OUTPUT ${obj}
		COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_x86
			-I${EMBER_VMLINUX_DIR} -I${src_dir}
			-Wall -Werror -Wno-unused-function
			-MD -MF ${dep} -MT ${obj} -c ${src} -o ${obj}.tmp
		COMMAND ${BPF_STRIP} -g ${obj}.tmp
		COMMAND ${CMAKE_COMMAND} -E rename ${obj}.tmp ${obj}
		DEPENDS ${src}
		DEPFILE ${dep}
		COMMENT "BPF ${name}"
		VERBATIM)
	add_custom_command(
		OUTPUT ${skel}
		COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name}_bpf > ${skel}.tmp
		COMMAND ${CMAKE_COMMAND} -E rename ${skel}.tmp ${skel}
		DEPENDS ${obj}
		COMMENT "BPF skeleton ${name}"
		VERBATIM)
	add_custom_target(${name}_skel_gen DEPENDS ${skel})
	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_skel_gen)
	target_include_directories(${name}_skel SYSTEM INTERFACE ${out_dir} ${src_dir})
	target_link_libraries(${name}_skel INTERFACE PkgConfig::LIBBPF)
endfunction()
