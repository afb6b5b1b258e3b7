# Installation layout and the Debian package (`cmake --build build --target package`):
# the binary, the example config as the conffile /etc/pgvigil/pgvigil.yaml, the hardened
# systemd unit, a sysusers.d entry for the `pgvigil` account, the dashboards and alert rules,
# the documentation, and a man page made from --help when help2man is installed.
set(PGVIGIL_DEB_DIR ${CMAKE_SOURCE_DIR}/packaging/deb)
set(PGVIGIL_DOC_DIR share/doc/pgvigil)

install(TARGETS pgvigil RUNTIME DESTINATION bin)
# 0644 in the package; postinst makes it root:pgvigil 0640, as it may hold passwords.
install(FILES config/pgvigil.example.yaml DESTINATION /etc/pgvigil RENAME pgvigil.yaml)
# Debian 12 keeps units in /lib (the /usr merge is not finished there).
install(FILES config/pgvigil.service DESTINATION /lib/systemd/system)
install(FILES config/pgvigil.sysusers DESTINATION lib/sysusers.d RENAME pgvigil.conf)
install(FILES README.md docs/architecture.md docs/benchmarks.md docs/configuration.md
              docs/fleet.md docs/metrics.md docs/runbooks.md ${PGVIGIL_DEB_DIR}/copyright
        DESTINATION ${PGVIGIL_DOC_DIR})
install(FILES alerts/pgvigil.rules.yml alerts/alertmanager.example.yml
        DESTINATION share/pgvigil/alerts)
install(DIRECTORY dashboards/ DESTINATION share/pgvigil/dashboards
        FILES_MATCHING PATTERN "*.json" PATTERN "*.yml")

# Debian wants a changelog in every package; a native one says which revision it was built from.
string(TIMESTAMP PGVIGIL_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${CMAKE_BINARY_DIR}/packaging/changelog
     "pgvigil (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
     "  * Built from revision ${PGVIGIL_REVISION} (branch ${PGVIGIL_BRANCH}).\n\n"
     " -- pgvigil maintainers <maintainers@pgvigil.invalid>  ${PGVIGIL_CHANGELOG_DATE}\n")
find_program(GZIP_PROGRAM gzip REQUIRED)
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND ${GZIP_PROGRAM} -9nkf ${CMAKE_BINARY_DIR}/packaging/changelog
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog)
set(PGVIGIL_PACKAGE_EXTRAS ${CMAKE_BINARY_DIR}/packaging/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${PGVIGIL_DOC_DIR})

find_program(HELP2MAN_PROGRAM help2man)
if(HELP2MAN_PROGRAM)
  add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/packaging/pgvigil.1.gz
    COMMAND ${HELP2MAN_PROGRAM} --no-info --no-discard-stderr --version-string=${PROJECT_VERSION}
            --name "PostgreSQL monitoring and health-check agent"
            --output ${CMAKE_BINARY_DIR}/packaging/pgvigil.1 $<TARGET_FILE:pgvigil>
    COMMAND ${GZIP_PROGRAM} -9nf ${CMAKE_BINARY_DIR}/packaging/pgvigil.1
    DEPENDS pgvigil)
  list(APPEND PGVIGIL_PACKAGE_EXTRAS ${CMAKE_BINARY_DIR}/packaging/pgvigil.1.gz)
  install(FILES ${CMAKE_BINARY_DIR}/packaging/pgvigil.1.gz DESTINATION share/man/man1)
endif()
add_custom_target(pgvigil_package_files ALL DEPENDS ${PGVIGIL_PACKAGE_EXTRAS})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pgvigil)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_CONTACT "pgvigil maintainers <maintainers@pgvigil.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "PostgreSQL monitoring and health-check agent")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "pgvigil polls PostgreSQL (pg_stat_activity, pg_stat_statements,\n\
pg_stat_database, the server log) and PgBouncer's admin console, probes\n\
latency, and serves Prometheus metrics, a JSON health report and a live\n\
status page. Grafana dashboards and Prometheus alert rules are in\n\
/usr/share/pgvigil.")
# The account: systemd-sysusers where systemd is installed, else adduser.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PGVIGIL_DEB_DIR}/conffiles ${PGVIGIL_DEB_DIR}/postinst ${PGVIGIL_DEB_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
include(CPack)
