# Builds logbook on Debian 12 with Swift 6, and runs it on a slim Debian with the C libraries it links.
FROM swift:6.0-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libzstd-dev librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product logbook && cp "$(swift build -c release --show-bin-path)/logbook" /usr/local/bin/logbook

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libzstd1 librdkafka1 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/logbook logbook \
    && mkdir -p /var/lib/logbook && chown logbook /var/lib/logbook && chmod 700 /var/lib/logbook
COPY --from=build /usr/lib/swift/linux/*.so* /usr/lib/swift/linux/
COPY --from=build /usr/local/bin/logbook /usr/local/bin/logbook
ENV LD_LIBRARY_PATH=/usr/lib/swift/linux
USER logbook
VOLUME /var/lib/logbook
ENTRYPOINT ["/usr/local/bin/logbook"]
CMD ["--help"]
