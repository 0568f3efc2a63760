<?php
/**
 * Removes the plugin's settings and queue. The decisions it stored on users (suspensions, step decisions) are
 * left: they are MemberSync's, and MemberSync pushes them again when the plugin comes back.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

global $wpdb;
$wpdb->query( 'DROP TABLE IF EXISTS ' . $wpdb->prefix . 'membersync_queue' ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
foreach ( array( 'membersync_companion', 'membersync_companion_state', 'membersync_companion_db_version', 'membersync_companion_sending' ) as $option ) {
	delete_option( $option );
}
