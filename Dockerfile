# syntax=docker/dockerfile:1
# Multi-stage build: the SDK image builds and publishes; the runtime image runs as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props JobApi.sln appsettings.json ./
COPY src/JobApi/JobApi.csproj src/JobApi/ServiceRuntime.props src/JobApi/
RUN dotnet restore src/JobApi/JobApi.csproj
COPY src/ src/
RUN dotnet publish src/JobApi/JobApi.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# redis-server is only used when ConnectionStrings__Redis is empty (embedded mode, single container).
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /app/data && chown -R app:app /app/data
USER app
# DOTNET_ReadyToRun=0: framework code compiled at its first call, not used precompiled (src/JobApi/ServiceRuntime.props).
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    JobApi__EmbeddedRedis__DataDirectory=/app/data/redis \
    DOTNET_ReadyToRun=0
EXPOSE 8080
# Liveness, not readiness: a node whose Redis is briefly away is still healthy (it reconnects on its own);
# readiness (/health/ready) is for load balancers and Kubernetes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "JobApi.dll"]
