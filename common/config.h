/* config.h - written by common/config.sh; make clean removes it */
/* no XML_SetReparseDeferralEnabled: expat before 2.6.0 */
