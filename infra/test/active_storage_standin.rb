# frozen_string_literal: true

# TEST STAND-IN FOR RAILS, NOT CHATWOOT: what scripts/storage.rb needs of a running Chatwoot.
#   - The services are REAL Active Storage ones (Debian's ruby-activestorage, Rails 6.1; Chatwoot
#     runs 7.1, whose DiskService and S3Service keep the same exist?/upload/path_for), built from
#     the same configuration Chatwoot's config/storage.yml gives `local` and `s3_compatible`,
#     with the real aws-sdk-s3 gem underneath.
#   - ActiveStorage::Blob is a stand-in: rows with key, checksum and service_name kept in the JSON
#     file STANDIN_BLOBS, with where(service_name:).find_each and update_columns; every
#     update_columns is saved at once, as a database row would be.
require 'json'
require 'active_support'
require 'active_support/core_ext'
require 'active_storage'
require 'active_storage/service'
require 'active_storage/service/configurator'

module ActiveStorage
  class Blob
    attr_reader :key, :checksum, :service_name

    # config/storage.yml of Chatwoot: local (Disk at Rails.root/storage) and s3_compatible.
    CONFIGURATIONS = {
      local: { service: 'Disk', root: ENV.fetch('STANDIN_STORAGE_ROOT') },
      s3_compatible: {
        service: 'S3',
        access_key_id: ENV.fetch('STORAGE_ACCESS_KEY_ID', ''),
        secret_access_key: ENV.fetch('STORAGE_SECRET_ACCESS_KEY', ''),
        region: ENV.fetch('STORAGE_REGION', ''),
        bucket: ENV.fetch('STORAGE_BUCKET_NAME', ''),
        endpoint: ENV.fetch('STORAGE_ENDPOINT', ''),
        force_path_style: ENV.fetch('STORAGE_FORCE_PATH_STYLE', 'false') == 'true'
      }
    }.freeze

    class Registry
      def initialize = (@built = {})
      def fetch(name) = (@built[name.to_sym] ||= ActiveStorage::Service.configure(name.to_sym, CONFIGURATIONS))
    end

    class Relation
      def initialize(condition) = (@condition = condition)

      def find_each(&)
        Blob.rows.select { |r| @condition.all? { |k, v| r[k.to_s] == v } }.map { |r| Blob.new(r) }.each(&)
      end
    end

    class << self
      def services = (@services ||= Registry.new)
      def where(condition) = Relation.new(condition)
      def rows = (@rows ||= JSON.parse(File.read(ENV.fetch('STANDIN_BLOBS'))))
      def save_rows = File.write(ENV.fetch('STANDIN_BLOBS'), JSON.generate(rows))
    end

    def initialize(row)
      @row = row
      @key = row['key']
      @checksum = row['checksum']
      @service_name = row['service_name']
    end

    def update_columns(attrs)
      attrs.each { |k, v| @row[k.to_s] = v }
      self.class.save_rows
      true
    end
  end
end
