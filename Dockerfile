# The mychips server image. Build from the repository root: docker build -t mychips .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish MyChips.Server -c Release -o /app --no-self-contained

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# Containers talk over the compose network, so the listeners bind all interfaces here.
ENV MYCHIPS__Web__Url=http://0.0.0.0:8080 \
    MYCHIPS__Peer__Endpoint=0.0.0.0:65430
EXPOSE 8080 8081 65430
USER app
ENTRYPOINT ["dotnet", "mychips.dll"]
CMD ["serve"]
